from django.urls import path

from incidents import params  # noqa: F401 (registers the <id:…> and <ref:…> converters)
from incidents.evidence import edit_views, views

app_name = "evidence"

urlpatterns = [
    path("cases/<ref:reference>/evidence/new/", views.attach, name="attach"),
    path("evidence/<id:pk>/", views.detail, name="detail"),
    path("evidence/<id:pk>/download/", views.download, name="download"),
    path("evidence/<id:pk>/thumbnail.png", views.thumbnail, name="thumbnail"),
    path("evidence/<id:pk>/transfer/", views.transfer, name="transfer"),
    path("evidence/<id:pk>/verify/", views.verify, name="verify"),
    path("evidence/<id:pk>/use-metadata/", views.use_metadata, name="use_metadata"),
    path("evidence/<id:pk>/edit/", edit_views.source_edit, name="edit"),
    path("evidence/<id:pk>/restore/", edit_views.source_restore, name="restore"),
    path("evidence/<id:pk>/text/", views.edit_text, name="edit_text"),
    path("evidence/<id:pk>/annotations/", views.annotate, name="annotate"),
    path(
        "evidence/<id:pk>/annotations/<id:annotation_pk>/edit/",
        views.annotation_edit,
        name="annotation_edit",
    ),
    path(
        "evidence/<id:pk>/annotations/<id:annotation_pk>/delete/",
        views.annotation_delete,
        name="annotation_delete",
    ),
    path("evidence/<id:pk>/annotations.jsonld", views.annotations_jsonld, name="jsonld"),
    path("cases/<ref:reference>/annotations/", views.case_annotations, name="case_annotations"),
]
