"""Which sessions a user has open: a ``UserSession`` row per signed-in session.

* At sign-in (``user_logged_in``) a row is made for the session, with the
  client's address and user agent; a signed-in session that has none (made
  before this table) gets one at its next request.
* The row follows its session's key when the key is rotated (sign-in,
  second-factor verification, a password change): the middleware compares
  the key it stored in the session with the session's key after the view.
* ``last_seen`` moves at most every ``TOUCH_EVERY`` seconds per process
  (Django's cache remembers the last touch), so an active session costs one
  UPDATE each five minutes, not one per request; the session itself is not
  saved, so its fixed expiry (``SESSION_COOKIE_AGE``) is left alone.
* Ending sessions deletes Django's session rows (their holders are signed out
  at their next request) and these rows. Sessions of the user that have no
  row yet are found by reading every live session once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery
from django.http import HttpRequest
from django.utils import timezone

from incidents.accounts.models import UserSession
from incidents.accounts.sessions import SessionStore
from incidents.audit.context import client_address
from incidents.htmx import SignedInHttpRequest

ROW_KEY = "_inquest_session"  # the UserSession row of this session
KEY_KEY = "_inquest_session_key"  # the session key that row holds
TOUCH_EVERY = 300  # seconds between two updates of last_seen


def track(request: HttpRequest, user: Any) -> UserSession:
    """Record REQUEST's session as USER's (at sign-in, or when it has no row yet)."""
    session = request.session
    if session.session_key is None:
        session.save()
    key = session.session_key
    row, _ = UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "ip": client_address(request),
            "user_agent": request.headers.get("User-Agent", "")[:300],
            "last_seen": timezone.now(),
        },
    )
    session[ROW_KEY] = row.pk
    session[KEY_KEY] = key
    cache.set(_touch_key(row.pk), 1, TOUCH_EVERY)
    return row


def seen(request: HttpRequest, user: Any) -> None:
    """A request of a signed-in session: make sure it has a row, and move its
    last activity if the last move was more than TOUCH_EVERY ago."""
    row = request.session.get(ROW_KEY)
    if row is None:
        track(request, user)
    elif cache.add(_touch_key(row), 1, TOUCH_EVERY):
        UserSession.objects.filter(pk=row).update(last_seen=timezone.now())


def follow_key(request: HttpRequest) -> None:
    """After the view: if it rotated the session's key, the row follows."""
    session = request.session
    row = session.get(ROW_KEY)
    key = session.session_key
    if row is not None and key and session.get(KEY_KEY) != key:
        UserSession.objects.filter(pk=row).update(session_key=key)
        session[KEY_KEY] = key


def forget(request: HttpRequest) -> None:
    """At sign-out: the session's row goes with it."""
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).delete()


def _touch_key(row: int) -> str:
    return f"inquest:session-seen:{row}"


@dataclass(frozen=True)
class OpenSession:
    row: UserSession
    current: bool

    @property
    def ip(self) -> str:
        return self.row.ip

    @property
    def user_agent(self) -> str:
        return self.row.user_agent

    @property
    def created_at(self) -> datetime:
        return self.row.created_at

    @property
    def last_seen(self) -> datetime:
        return self.row.last_seen


def open_sessions(request: SignedInHttpRequest) -> list[OpenSession]:
    """The user's live sessions, this one first, then the most recently active."""
    user = request.user
    now = timezone.now()
    live = Session.objects.filter(expire_date__gt=now).values("session_key")
    rows = UserSession.objects.filter(user=user, session_key__in=Subquery(live))
    current = request.session.session_key
    found = [OpenSession(row, row.session_key == current) for row in rows]
    return sorted(found, key=lambda s: (not s.current, -s.last_seen.timestamp()))


def _untracked_keys_of(user: Any) -> list[str]:
    """Live sessions of USER that have no row (made before the table existed)."""
    live = Session.objects.filter(expire_date__gt=timezone.now()).exclude(
        session_key__in=Subquery(UserSession.objects.values("session_key"))
    )
    store = SessionStore()
    keys = []
    for session in live.iterator(chunk_size=500):
        if store.decode(session.session_data).get(SESSION_KEY) == str(user.pk):
            keys.append(session.session_key)
    return keys


def end_sessions(user: Any, *, keep: str | None = None) -> int:
    """End every session of USER but KEEP (a session key); the number ended."""
    with transaction.atomic():
        keys = set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
        keys.update(_untracked_keys_of(user))
        keys.discard(keep or "")
        ended = _delete(keys)
    return ended


def _delete(keys: Iterable[str]) -> int:
    keys = list(keys)
    live = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).count()
    Session.objects.filter(session_key__in=keys).delete()
    UserSession.objects.filter(session_key__in=keys).delete()
    return live
