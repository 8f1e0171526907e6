from django.urls import path

from incidents import params  # noqa: F401 (registers the <id:…> and <ref:…> converters)
from incidents.accounts import views as accounts_views
from incidents.cases.views import case, edit, export, listing

app_name = "cases"

urlpatterns = [
    path("", listing.case_list, name="list"),
    path("new/", listing.case_new, name="new"),
    path("<ref:reference>/export.json", export.case_export, name="export"),
    path("<ref:reference>/", case.case_detail, name="detail"),
    path("<ref:reference>/edit/", edit.case_edit, name="edit"),
    path("<ref:reference>/status/", case.case_status, name="status"),
    path("<ref:reference>/timeline/", case.post_update, name="timeline"),
    path("<ref:reference>/members/", accounts_views.members, name="members"),
    path("<ref:reference>/history/", accounts_views.history, name="history"),
]
