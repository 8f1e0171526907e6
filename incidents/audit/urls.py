"""/audit/…: the staff's audit receipts (incidents/audit/views.py)."""

from django.urls import path

from incidents.audit import views

app_name = "audit"

urlpatterns = [
    path("receipt/", views.receipt, name="receipt"),
    path("receipt.json", views.receipt_json, name="receipt_json"),
]
