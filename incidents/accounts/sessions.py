"""The session store: Django's database sessions, read with one plain statement.

Every request of a signed-in user reads its session first. Through the ORM
(``Session.objects.get(...)``) that read cost about 0.6 ms of Python on the
benchmark machine, five times the statement itself: building and compiling
the query and a model instance, for one column of one row. Here the same
statement is written once per process from the model's own table and column
names, and its parameters go through the database's own conversion, so the
rows, the expiry rule and everything else (saving, rotating, deleting,
``clearsessions``) stay Django's.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


@cache
def _select_sql(model: Any, vendor: str) -> str:
    """The session's data, if the session exists and has not expired."""
    qn = connections[router.db_for_read(model)].ops.quote_name
    field = model._meta.get_field
    return (
        f"SELECT {qn(field('session_data').column)} FROM {qn(model._meta.db_table)}"
        f" WHERE {qn(field('session_key').column)} = %s"
        f" AND {qn(field('expire_date').column)} > %s"
    )


class SessionStore(db.SessionStore):
    def load(self) -> dict[str, Any]:
        row = None
        if self.session_key is not None:
            connection = connections[router.db_for_read(self.model)]
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            with connection.cursor() as cursor:
                cursor.execute(_select_sql(self.model, connection.vendor), [self.session_key, now])
                row = cursor.fetchone()
        if row is None:
            # As Django's store does: an unknown or expired key is dropped, and
            # a new one is made if anything is saved.
            self._session_key = None
            return {}
        return self.decode(row[0])
