"""The session store: Django's database sessions, read through a compiled query.

Every request of a signed-in user reads its session first. Through the ORM
(``Session.objects.get(...)``) that read cost about 0.6 ms of Python on the
benchmark machine, five times the statement itself: building and compiling
the query and a model instance, for one column of one row. Here the same
read, written with the ORM, is compiled once per connection
(``incidents.compiled``), so the rows, the expiry rule and everything else
(saving, rotating, deleting, ``clearsessions``) stay Django's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.sessions.backends import db
from django.db.models import QuerySet
from django.utils import timezone

from incidents.compiled import compiled


@compiled(tuples=True)
def _session_data(key: str, now: dt.datetime) -> QuerySet[Any]:
    """The session's data, if the session exists and has not expired."""
    model = db.SessionStore.get_model_class()
    return model.objects.filter(session_key=key, expire_date__gt=now).values_list("session_data")


class SessionStore(db.SessionStore):
    def load(self) -> dict[str, Any]:
        rows = [] if self.session_key is None else _session_data(self.session_key, timezone.now())
        if not rows:
            # As Django's store does: an unknown or expired key is dropped, and
            # a new one is made if anything is saved.
            self._session_key = None
            return {}
        return self.decode(rows[0][0])
