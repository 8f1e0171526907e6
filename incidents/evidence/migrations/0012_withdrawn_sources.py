"""Withdrawn sources (issue 15.1): who, when and why, and the custody actions
``withdrawn`` and ``restored``.

Changing the custody constraint rebuilds that table on SQLite, which drops its
append-only trigger: it is created again at the end (see 0005).
"""

import importlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

_sqlite_guard = importlib.import_module(
    "incidents.evidence.migrations.0005_custody_no_update_sqlite"
)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_statusupdate_evidence_changed"),
        ("chronology", "0001_initial"),
        ("evidence", "0011_custody_edited_regraded"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="custodyentry",
            name="custodyentry_action_valid",
        ),
        migrations.AddField(
            model_name="evidenceitem",
            name="withdrawal_note",
            field=models.TextField(blank=True, editable=False, max_length=5000),
        ),
        migrations.AddField(
            model_name="evidenceitem",
            name="withdrawal_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("duplicate", "A duplicate"),
                    ("mistake", "Attached by mistake"),
                    ("retracted", "The report was retracted"),
                    ("other", "Other"),
                ],
                editable=False,
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="evidenceitem",
            name="withdrawn_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="evidenceitem",
            name="withdrawn_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="custodyentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("collected", "Collected"),
                    ("uploaded", "Uploaded"),
                    ("downloaded", "Downloaded"),
                    ("exported", "Exported"),
                    ("verified", "Verified"),
                    ("verification_failed", "Verification failed"),
                    ("transferred", "Transferred"),
                    ("edited", "Details edited"),
                    ("regraded", "Regraded"),
                    ("withdrawn", "Withdrawn"),
                    ("restored", "Restored"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddConstraint(
            model_name="custodyentry",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "action__in",
                        [
                            "collected",
                            "uploaded",
                            "downloaded",
                            "exported",
                            "verified",
                            "verification_failed",
                            "transferred",
                            "edited",
                            "regraded",
                            "withdrawn",
                            "restored",
                        ],
                    )
                ),
                name="custodyentry_action_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="evidenceitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("withdrawal_reason", ""),
                    ("withdrawal_reason__in", ["duplicate", "mistake", "retracted", "other"]),
                    _connector="OR",
                ),
                name="evidence_withdrawal_reason_valid",
            ),
        ),
        migrations.RunPython(
            _sqlite_guard.create_trigger, migrations.RunPython.noop, elidable=False
        ),
    ]
