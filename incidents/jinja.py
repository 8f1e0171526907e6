"""Jinja2 for the case page: its environment, and a backend that renders one
macro of a template.

The case page's body (``jinja_templates/cases/detail.jinja``) is drawn by Jinja2: the
Django engine spent about 3 ms on its ~500 nodes, Jinja2's compiled Python
well under one (docs/architecture.md, "The case page"). The site frame stays
``templates/base.html`` (Django).

What the template may call is Django's own code, not a copy of it: ``url``
is ``reverse``, the filters are Django's ``date``, ``floatformat``,
``truncatechars`` and ``pluralize``, so the page writes dates and numbers as
before. ``csrf_input`` and ``request`` come from Django's Jinja2 backend.

A template name may end in ``#name``, as Django's partials do: the template
is evaluated as a module (it only defines macros, so that costs nothing) and
the macro NAME is called without arguments. Its output is the
region alone, and only what that region reads is computed.
"""

from __future__ import annotations

from typing import Any

import jinja2
from django.template import defaultfilters
from django.template.backends import jinja2 as backend
from django.urls import reverse
from django.utils.timezone import template_localtime
from markupsafe import Markup


def url(name: str, *args: Any) -> str:
    """``{% url name arg… %}``: the path of the view NAME."""
    return reverse(name, args=args)


def date(value: Any, arg: str | None = None) -> str:
    """``|date:arg``: in the current time zone, as Django's engine converts a
    datetime before its ``date`` filter (``expects_localtime``)."""
    return defaultfilters.date(template_localtime(value), arg)


def floatformat(value: Any, arg: int | str = -1) -> str:
    return defaultfilters.floatformat(value, arg)


def truncatechars(value: Any, length: int) -> str:
    return defaultfilters.truncatechars(value, length)


def pluralize(value: Any, arg: str = "s") -> str:
    return defaultfilters.pluralize(value, arg)


def environment(**options: Any) -> jinja2.Environment:
    # A name the template does not know is an error, in tests and in
    # production alike: not an empty string, nor (Django's default under
    # DEBUG) the name written into the page.
    options["undefined"] = jinja2.StrictUndefined
    env = jinja2.Environment(**options)
    env.globals["url"] = url
    env.filters.update(
        date=date, floatformat=floatformat, truncatechars=truncatechars, pluralize=pluralize
    )
    return env


class Macro:
    """A template's macro NAME as a template: rendering it renders the macro alone."""

    def __init__(self, template: jinja2.Template, name: str) -> None:
        self.template, self.macro = template, name
        self.name, self.filename = f"{template.name}#{name}", template.filename

    def render(self, context: dict[str, Any]) -> Markup:
        """The macro's output (``Markup``: safe in a Django template too)."""
        return getattr(self.template.make_module(context), self.macro)()


class Jinja2(backend.Jinja2):
    """Django's Jinja2 backend, with ``template.jinja#macro`` names."""

    def get_template(self, template_name: str) -> backend.Template:
        name, _, macro = template_name.partition("#")
        template = super().get_template(name)
        if not macro:
            return template
        # The module evaluated without a context only defines the macros: it is
        # cached, and costs nothing.
        if not isinstance(getattr(template.template.module, macro, None), jinja2.runtime.Macro):
            raise backend.TemplateDoesNotExist(template_name, backend=self)
        return backend.Template(Macro(template.template, macro), self)
