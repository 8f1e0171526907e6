"""Account events: a row in ``AccountEvent`` (so in the audit trail) and a log line.

Successes that change an account (a password changed, the second factor
turned on or off, sessions ended) are rows: the audit trigger records each
with the request's id, address and actor. Failures (a wrong code, a throttled
reset request) are only logged, at WARNING, as django-axes logs failed
sign-ins: an attacker repeating them must not be able to grow a table.
"""

from __future__ import annotations

import logging
from typing import Any

from incidents.accounts.models import AccountEvent

logger = logging.getLogger("incidents.accounts")

Kind = AccountEvent.Kind


def record(
    kind: AccountEvent.Kind, *, user: Any = None, subject: str = "", detail: str = ""
) -> None:
    """Record KIND for USER (None: no known user, as a reset asked for an unknown address)."""
    AccountEvent.objects.create(
        kind=kind,
        user=user if user is not None and user.pk else None,
        subject=subject[:254],
        detail=detail[:200],
    )
    logger.info(
        "account: %s user=%s%s%s",
        kind.value,
        user.get_username() if user is not None else "-",
        f" subject={subject}" if subject else "",
        f" ({detail})" if detail else "",
    )


def failure(what: str, *, user: Any = None, request: Any = None, **fields: Any) -> None:
    """Log a refused attempt (not stored)."""
    extra = "".join(f" {key}={value}" for key, value in fields.items())
    logger.warning(
        "account: %s user=%s from=%s%s",
        what,
        user.get_username() if user is not None else "-",
        getattr(request, "client_addr", "") or "-",
        extra,
    )
