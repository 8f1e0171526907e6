from django.urls import path

from incidents.accounts import views as accounts_views
from incidents.cases.views import case, export, listing

app_name = "cases"

urlpatterns = [
    path("", listing.case_list, name="list"),
    path("new/", listing.case_new, name="new"),
    path("<str:reference>/export.json", export.case_export, name="export"),
    path("<str:reference>/", case.case_detail, name="detail"),
    path("<str:reference>/status/", case.case_status, name="status"),
    path("<str:reference>/timeline/", case.post_update, name="timeline"),
    path("<str:reference>/members/", accounts_views.members, name="members"),
    path("<str:reference>/history/", accounts_views.history, name="history"),
]
