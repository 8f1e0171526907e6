"""Who is acting, from where, in which request: the context every audit record carries.

The context lives in a ``ContextVar``: the request middleware sets it for the
length of a request, :func:`audit_context` sets it for a block of code (a
management command, a script, a test). With nothing set, the process itself
is the actor (``manage.py <command>`` as the operating-system user).

The database triggers read it at the moment of each write (see
``incidents.audit.db``), so the actor is resolved lazily: a request's user is
looked up only when the request writes something.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


@dataclass(frozen=True)
class AuditContext:
    actor_id: int | None
    actor: str
    request_id: str
    client_addr: str
    source: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RequestContext:
    """A request's context; the user is read when the first write happens."""

    def __init__(self, request: HttpRequest, request_id: str, client_addr: str) -> None:
        self.request = request
        self.request_id = request_id
        self.client_addr = client_addr
        self.conflicts = 0  # stale edits refused while handling this request

    def resolve(self) -> AuditContext:
        user: Any = getattr(self.request, "user", None)
        authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
        source = "admin" if self.request.path.startswith("/admin/") else "web"
        return AuditContext(
            actor_id=user.pk if authenticated else None,
            actor=user.get_username() if authenticated else "anonymous",
            request_id=self.request_id,
            client_addr=self.client_addr,
            source=f"{source} {self.request.method} {self.request.path}"[:200],
        )


_current: ContextVar[RequestContext | AuditContext | None] = ContextVar(
    "inquest_audit_context", default=None
)


def process_context() -> AuditContext:
    """The context of work done outside a request: a command, a shell, a worker."""
    argv = [os.path.basename(sys.argv[0])] + sys.argv[1:2] if sys.argv else ["python"]
    if argv[0] in {"manage.py", "django-admin", "__main__.py"}:
        source = f"manage.py {argv[1] if len(argv) > 1 else ''}".strip()
    else:
        source = f"process {argv[0]}"
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = f"uid {os.getuid()}"
    actor = os.environ.get("INQUEST_ACTOR") or f"os:{os_user}"
    return AuditContext(
        actor_id=None, actor=actor[:150], request_id="", client_addr="local", source=source[:200]
    )


def note_conflict() -> None:
    """A stale edit was refused: the request will answer 409 (see AuditContextMiddleware)."""
    value = _current.get()
    if isinstance(value, RequestContext):
        value.conflicts += 1


def current_context() -> AuditContext:
    value = _current.get()
    if isinstance(value, RequestContext):
        return value.resolve()
    if value is None:
        return process_context()
    return value


@contextmanager
def audit_context(
    *, actor: Any = None, source: str, request_id: str = "", client_addr: str = "local"
) -> Iterator[AuditContext]:
    """Record the writes of this block as done by ACTOR (a user, or a name) through SOURCE."""
    if actor is not None and hasattr(actor, "get_username"):
        context = AuditContext(actor.pk, actor.get_username(), request_id, client_addr, source)
    else:
        context = AuditContext(
            None, str(actor or process_context().actor), request_id, client_addr, source
        )
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


@contextmanager
def request_context(request: HttpRequest) -> Iterator[RequestContext]:
    context = RequestContext(request, request_id_of(request), client_address(request))
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def request_id_of(request: HttpRequest) -> str:
    """The proxy's X-Request-ID when it looks like one, else a fresh one."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    if getattr(settings, "TRUST_PROXY_HEADERS", False) and _SAFE_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def client_address(request: HttpRequest) -> str:
    """The client's address: the last hop added by our own proxy when behind one."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if getattr(settings, "TRUST_PROXY_HEADERS", False):
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if forwarded:
            remote = forwarded[-1]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return ""


def client_ip_for_axes(request: HttpRequest) -> str | None:
    """django-axes asks for the client address the same way the audit trail records it."""
    return client_address(request) or None
