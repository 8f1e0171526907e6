from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "incidents.audit"
    label = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from incidents.audit.db import on_connection_created, on_post_migrate, on_pre_migrate

        connection_created.connect(on_connection_created, dispatch_uid="inquest_audit_connection")
        # After every migrate (new columns, tables rebuilt by SQLite's ALTER), reinstall.
        pre_migrate.connect(on_pre_migrate, sender=self, dispatch_uid="inquest_audit_untrigger")
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="inquest_audit_triggers")
