"""The case list filtered by status and severity together (issue 6: "3 combined filters").

With this index PostgreSQL walks the cases of one status and severity in list
order and stops after a page, probing each for the tag, instead of fetching
every case that carries the tag (5,000+ at 100,000 cases) and sorting them.
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_hypothesis_confirmed_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                fields=["status", "severity", "-last_activity_at", "-id"],
                name="incident_status_severity_idx",
            ),
        ),
    ]
