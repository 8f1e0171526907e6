from django.urls import path

from incidents import params  # noqa: F401 (registers the <id:…> and <ref:…> converters)
from incidents.hypotheses import views

app_name = "hypotheses"

# Mounted under cases/<reference>/hypotheses/: every view receives `reference`.
urlpatterns = [
    path("new/", views.add, name="add"),
    path("<id:pk>/move/", views.move, name="move"),
    path("<id:pk>/confidence/", views.confidence, name="confidence"),
    path("cell/<id:evidence_id>/<id:hypothesis_id>/", views.cell, name="cell"),
]
