from django.urls import path

from incidents.cases.views import case, listing

app_name = "cases"

urlpatterns = [
    path("", listing.case_list, name="list"),
    path("new/", listing.case_new, name="new"),
    path("<str:reference>/", case.case_detail, name="detail"),
    path("<str:reference>/status/", case.case_status, name="status"),
    path("<str:reference>/timeline/", case.post_update, name="timeline"),
]
