from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_statusupdate_evidence_changed"),
        ("evidence", "0012_withdrawn_sources"),
        ("hypotheses", "0002_ordering_by_column"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="statusupdate",
            name="statusupdate_kind_valid",
        ),
        migrations.AlterField(
            model_name="statusupdate",
            name="kind",
            field=models.CharField(
                choices=[
                    ("note", "Note"),
                    ("finding", "Finding"),
                    ("official_statement", "Official statement"),
                    ("case_status", "Case status changed"),
                    ("hypothesis_added", "Hypothesis added"),
                    ("hypothesis_moved", "Hypothesis moved"),
                    ("confidence_changed", "Confidence changed"),
                    ("evidence_added", "Evidence added"),
                    ("members_changed", "Members changed"),
                    ("chronology_changed", "Chronology changed"),
                    ("marking_changed", "TLP marking changed"),
                    ("judgements_changed", "Key judgements changed"),
                    ("report", "Report"),
                    ("evidence_changed", "Source changed"),
                    ("case_edited", "Case edited"),
                ],
                default="note",
                max_length=24,
            ),
        ),
        migrations.AddConstraint(
            model_name="statusupdate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "kind__in",
                        [
                            "note",
                            "finding",
                            "official_statement",
                            "case_status",
                            "hypothesis_added",
                            "hypothesis_moved",
                            "confidence_changed",
                            "evidence_added",
                            "members_changed",
                            "chronology_changed",
                            "marking_changed",
                            "judgements_changed",
                            "report",
                            "evidence_changed",
                            "case_edited",
                        ],
                    )
                ),
                name="statusupdate_kind_valid",
            ),
        ),
    ]
