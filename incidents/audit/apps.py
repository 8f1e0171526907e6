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
        # Then TRUNCATE too (PostgreSQL; incidents/audit/truncate.py).
        from incidents.audit.truncate import on_post_migrate as truncate_triggers

        post_migrate.connect(
            truncate_triggers, sender=self, dispatch_uid="inquest_audit_truncate_triggers"
        )
        _record_commands_by_name()


def _record_commands_by_name() -> None:
    """Writes made by a management command are recorded as ``manage.py <command>``.

    Whether it runs from the shell, cron or ``call_command``; a context set by
    the caller (a request, ``audit_context``) is kept.
    """
    from django.core.management.base import BaseCommand

    from incidents.audit.context import _current, audit_context

    if getattr(BaseCommand.execute, "inquest_audited", False):
        return
    original = BaseCommand.execute

    def execute(self, *args, **options):  # type: ignore[no-untyped-def]
        if _current.get() is not None:
            return original(self, *args, **options)
        name = type(self).__module__.rsplit(".", 1)[-1]
        with audit_context(source=f"manage.py {name}"):
            return original(self, *args, **options)

    execute.inquest_audited = True  # type: ignore[attr-defined]
    BaseCommand.execute = execute  # type: ignore[method-assign]
