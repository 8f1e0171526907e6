"""The authentication backends: log-in throttling in front of the password
check, and Django's model backend with a compiled read of the signed-in user."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import router
from django.db.models import QuerySet
from django.http import HttpRequest

from incidents.accounts.access import USER_FIELDS
from incidents.compiled import compiled


class ThrottledBackend(AxesStandaloneBackend):
    """django-axes' check, for every log-in that comes with a request.

    ``authenticate()`` without a request is only ever called from code (the
    test client's ``login()``, scripts), never from the log-in form or the
    admin: nothing to throttle there, so it passes to the next backend instead
    of failing.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@compiled(tuples=True)
def _user_row(pk: int) -> QuerySet[Any]:
    """Every column of the user PK, in the model's order."""
    return get_user_model()._default_manager.filter(pk=pk).values_list(*USER_FIELDS)


class UserBackend(ModelBackend):
    """Django's ``ModelBackend``, with the signed-in user read as a compiled read.

    Every request of a signed-in user reads the user after the session. Through
    the ORM (``_default_manager.get(pk=...)``) that read cost about 0.6 ms of
    Python on the benchmark machine, six times the statement; compiled
    (``incidents.compiled``) it is the same SQL and the same model instance
    (``from_db``, as the ORM makes it) for a tenth of that. Log-in, passwords
    and permissions are ``ModelBackend``'s, unchanged.
    """

    def get_user(self, user_id: Any) -> Any:
        rows = _user_row(user_id)
        if not rows:
            return None
        model = get_user_model()
        user = model.from_db(router.db_for_read(model), USER_FIELDS, rows[0])
        return user if self.user_can_authenticate(user) else None
