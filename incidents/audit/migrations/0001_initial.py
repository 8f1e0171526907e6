"""The audit table and its append-only guards (raw SQL per database).

The triggers on the audited tables are (re)installed after every migrate by
``incidents.audit.db.on_post_migrate``, so new columns and tables are covered.
"""

from django.db import migrations, models


def create_audit_table(apps, schema_editor):
    from incidents.audit.db import install

    install(schema_editor.connection, table_triggers=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cases", "0002_initial"),
        ("hypotheses", "0001_initial"),
        ("evidence", "0002_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField()),
                ("actor_user_id", models.BigIntegerField(blank=True, null=True)),
                ("actor", models.CharField(max_length=150)),
                ("request_id", models.CharField(blank=True, max_length=64)),
                ("client_addr", models.CharField(blank=True, max_length=64)),
                ("source", models.CharField(max_length=200)),
                ("table_name", models.CharField(max_length=100)),
                ("object_pk", models.CharField(max_length=64)),
                ("incident_id", models.BigIntegerField(blank=True, null=True)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("insert", "Created"),
                            ("update", "Changed"),
                            ("delete", "Deleted"),
                        ],
                        max_length=6,
                    ),
                ),
                ("before", models.TextField(blank=True, null=True)),
                ("after", models.TextField(blank=True, null=True)),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "audit record",
                "db_table": "audit_auditevent",
                "ordering": ["id"],
                "managed": False,
            },
        ),
        migrations.RunPython(create_audit_table, migrations.RunPython.noop, elidable=False),
    ]
