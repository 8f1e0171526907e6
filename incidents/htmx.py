"""The request types of the project's views: Django's, with django-htmx's
``request.htmx`` (``HtmxMiddleware``), and with a signed-in user behind
``login_required``, for type checkers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class SignedInHttpRequest(HtmxHttpRequest):
    """The request of a view behind ``login_required``: its user is signed in."""

    user: User
