from django.urls import path

from incidents.perf import views

app_name = "perf"

# Included by incidents/urls.py only when INQUEST_BENCH_FLOOR is on.
urlpatterns = [path("floor/<str:key>/", views.floor, name="floor")]
