from django.urls import path

from incidents.cases.views import case, export, listing

app_name = "cases"

urlpatterns = [
    path("", listing.case_list, name="list"),
    path("new/", listing.case_new, name="new"),
    path("<str:reference>/export.json", export.case_export, name="export"),
    path("<str:reference>/", case.case_detail, name="detail"),
]
