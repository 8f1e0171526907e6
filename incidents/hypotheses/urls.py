from django.urls import path

from incidents.hypotheses import views

app_name = "hypotheses"

# Mounted under cases/<reference>/hypotheses/: every view receives `reference`.
urlpatterns = [
    path("new/", views.add, name="add"),
    path("<int:pk>/move/", views.move, name="move"),
    path("<int:pk>/confidence/", views.confidence, name="confidence"),
    path("cell/<int:evidence_id>/<int:hypothesis_id>/", views.cell, name="cell"),
]
