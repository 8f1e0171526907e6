"""Keeps everyone signed in across the change of backend (settings.AUTHENTICATION_BACKENDS).

A session names the backend that signed its user in, and Django signs out a
session whose backend is no longer configured. Django's ``ModelBackend`` gave
way to ``incidents.accounts.backends.UserBackend`` (the same backend, with a
compiled read of the user): the sessions signed in through the one move to the
other, both ways, so neither the upgrade nor a rollback signs anybody out.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from django.utils.module_loading import import_string

BACKEND_KEY = "_auth_user_backend"  # django.contrib.auth.BACKEND_SESSION_KEY
DJANGO = "django.contrib.auth.backends.ModelBackend"
OURS = "incidents.accounts.backends.UserBackend"


def move_sessions(apps: Any, old: str, new: str) -> None:
    session_model = apps.get_model("sessions", "Session")
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")()
    batch = []
    live = session_model.objects.filter(expire_date__gt=timezone.now())
    for session in live.iterator(chunk_size=1000):
        data = store.decode(session.session_data)
        if data.get(BACKEND_KEY) == old:
            data[BACKEND_KEY] = new
            session.session_data = store.encode(data)
            batch.append(session)
        if len(batch) >= 1000:
            session_model.objects.bulk_update(batch, ["session_data"])
            batch.clear()
    session_model.objects.bulk_update(batch, ["session_data"])


def forward(apps: Any, schema_editor: Any) -> None:
    move_sessions(apps, DJANGO, OURS)


def backward(apps: Any, schema_editor: Any) -> None:
    move_sessions(apps, OURS, DJANGO)


class Migration(migrations.Migration):
    dependencies = [("sessions", "0001_initial")]
    operations = [migrations.RunPython(forward, backward, elidable=True)]
