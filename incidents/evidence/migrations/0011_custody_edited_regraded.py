"""Custody actions ``edited`` and ``regraded`` (issue 15.1).

Changing the constraint rebuilds the table on SQLite, which drops its
append-only trigger: it is created again at the end (see 0005).
"""

import importlib

from django.conf import settings
from django.db import migrations, models

_sqlite_guard = importlib.import_module(
    "incidents.evidence.migrations.0005_custody_no_update_sqlite"
)


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0010_tlp"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="custodyentry",
            name="custodyentry_action_valid",
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
                        ],
                    )
                ),
                name="custodyentry_action_valid",
            ),
        ),
        migrations.RunPython(
            _sqlite_guard.create_trigger, migrations.RunPython.noop, elidable=False
        ),
    ]
