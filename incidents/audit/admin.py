"""Staff read the whole audit trail here; nobody can add, change or delete a record."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from incidents.admin_base import RecordAdmin
from incidents.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(RecordAdmin):
    list_display = (
        "id",
        "at",
        "actor",
        "action",
        "table_name",
        "object_pk",
        "incident_id",
        "source",
        "client_addr",
    )
    list_filter = ("action", "table_name")
    search_fields = ("actor", "request_id", "object_pk", "client_addr", "source")
    date_hierarchy = "at"
    ordering = ("-id",)
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "at",
        "actor",
        "actor_user_id",
        "source",
        "request_id",
        "client_addr",
        "action",
        "table_name",
        "object_pk",
        "incident_id",
        "before_pretty",
        "after_pretty",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    @admin.display(description="before")
    def before_pretty(self, obj: AuditEvent) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.before_data, indent=2, ensure_ascii=False)
        )

    @admin.display(description="after")
    def after_pretty(self, obj: AuditEvent) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.after_data, indent=2, ensure_ascii=False)
        )

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
