from django.urls import path

from incidents.evidence import views

app_name = "evidence"

urlpatterns = [
    path("cases/<str:reference>/evidence/new/", views.attach, name="attach"),
]
