"""The reports of a case and what sets their content: included under /cases/<reference>/."""

from django.urls import path

from incidents import params  # noqa: F401 (registers the <id:…> and <ref:…> converters)
from incidents.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/", views.report_list, name="list"),
    path("reports/<id:number>/", views.report_row, name="row"),
    path("reports/<id:number>/retry/", views.report_retry, name="retry"),
    path("reports/<id:number>/report.pdf", views.report_download, name="download"),
    path("markings/", views.markings, name="markings"),
    path("judgements/", views.judgements, name="judgements"),
]
