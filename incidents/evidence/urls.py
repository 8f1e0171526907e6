from django.urls import path

from incidents.evidence import views

app_name = "evidence"

urlpatterns = [
    path("cases/<str:reference>/evidence/new/", views.attach, name="attach"),
    path("evidence/<int:pk>/", views.detail, name="detail"),
    path("evidence/<int:pk>/download/", views.download, name="download"),
    path("evidence/<int:pk>/thumbnail.png", views.thumbnail, name="thumbnail"),
    path("evidence/<int:pk>/transfer/", views.transfer, name="transfer"),
    path("evidence/<int:pk>/verify/", views.verify, name="verify"),
    path("evidence/<int:pk>/use-metadata/", views.use_metadata, name="use_metadata"),
    path("evidence/<int:pk>/text/", views.edit_text, name="edit_text"),
    path("evidence/<int:pk>/annotations/", views.annotate, name="annotate"),
    path(
        "evidence/<int:pk>/annotations/<int:annotation_pk>/edit/",
        views.annotation_edit,
        name="annotation_edit",
    ),
    path(
        "evidence/<int:pk>/annotations/<int:annotation_pk>/delete/",
        views.annotation_delete,
        name="annotation_delete",
    ),
    path("evidence/<int:pk>/annotations.jsonld", views.annotations_jsonld, name="jsonld"),
    path("cases/<str:reference>/annotations/", views.case_annotations, name="case_annotations"),
]
