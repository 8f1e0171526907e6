from django.urls import path

from incidents import params  # noqa: F401 (registers the <id:…> and <ref:…> converters)
from incidents.chronology import views

app_name = "chronology"

# Mounted under cases/<ref:reference>/chronology/: every view receives `reference`.
urlpatterns = [
    path("", views.chronology, name="page"),
    path("chronology.csv", views.chronology_csv, name="csv"),
    path("clocks/new/", views.clock_new, name="clock_new"),
    path("clocks/<id:pk>/", views.clock_edit, name="clock_edit"),
    path("clocks/<id:pk>/delete/", views.clock_delete, name="clock_delete"),
    path("events/new/", views.event_new, name="event_new"),
    path("events/<id:pk>/", views.event_edit, name="event_edit"),
    path("events/<id:pk>/delete/", views.event_delete, name="event_delete"),
    path("orderings/new/", views.ordering_new, name="ordering_new"),
    path("orderings/<id:pk>/", views.ordering_edit, name="ordering_edit"),
    path("orderings/<id:pk>/delete/", views.ordering_delete, name="ordering_delete"),
    path("sources/<id:item_pk>/clock/", views.source_clock, name="source_clock"),
]
