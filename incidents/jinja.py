"""Jinja2 for the case page: its environment, and a backend that renders one
part of a template alone.

The case page's body (``templates/jinja2/cases/detail.jinja``) is drawn by
Jinja2: Django's engine spent about 3 ms on its ~500 nodes and copied the
big drawn parts (the matrix rows) at every node around them
(docs/architecture.md, "The case page"). The site frame stays
``templates/base.html`` (Django).

What the template may call is Django's own code, not a copy of it: ``url``
is ``reverse`` (remembered: ``incidents.paths``), the filters are Django's
``date``, ``floatformat``, ``truncatechars`` and ``pluralize``, so the page
writes dates and numbers as before. ``csrf_input``, ``request`` and (by the
``csp`` context processor) ``csp_nonce`` come from Django's Jinja2 backend.

A template name may end in ``#name``, as Django's partials do: NAME is a
block or a macro of the template, rendered alone (``Part``), and only what
that part reads is computed.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any
from weakref import WeakKeyDictionary

import jinja2
from django.middleware.csrf import get_token
from django.template import defaultfilters
from django.template.backends import jinja2 as backend
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timezone import template_localtime
from django.utils.translation import get_language
from markupsafe import Markup

from incidents.paths import path_of


def url(name: str, *args: Any) -> str:
    """``{% url name arg… %}``: the path of the view NAME."""
    return path_of(name, *args)


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


def token_input(token: Any) -> SafeString:
    """Django's ``csrf_input`` (``django.template.backends.utils``) for a given
    TOKEN: the hidden field a form posts it in."""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


class Part:
    """A Jinja2 template, or one part of it alone, as Django's backend renders it.

    A part is a block or a macro (called without arguments). The template is
    first evaluated as a module with ``alone`` naming the part: that defines
    its macros, and the template draws nothing else when ``alone`` is set.
    A block is then drawn with those macros: its output streams into one
    join, however big the parts it places (a macro returns its output
    joined, so each macro around the matrix rows would copy them again).

    Rendering it with a request gives the template one CSRF token per
    rendering, as Django's engine does (its ``csrf`` context processor):
    Django's Jinja2 backend hands the template a lazy ``csrf_input`` that
    masks a new token at each use, about 0.1 ms each. ``csrf_token`` and
    ``csrf_input`` hold the same token, and the case page's frame takes it
    too (``render_case``): one token a page.
    """

    def __init__(self, template: jinja2.Template, part: str = "") -> None:
        self.template, self.part, self.filename = template, part, template.filename
        self.name = f"{template.name}#{part}" if part else template.name

    def render(self, context: dict[str, Any]) -> str:
        request = context.get("request")
        if request is not None:
            token = SimpleLazyObject(partial(get_token, request))
            context["csrf_token"] = token
            context["csrf_input"] = SimpleLazyObject(partial(token_input, token))
        context["alone"] = self.part
        if not self.part:
            return self.template.render(context)
        module = self.template.make_module(context)
        block = self.template.blocks.get(self.part)
        if block is None:
            return getattr(module, self.part)()  # ``Markup``: safe in a Django template too
        macros = {k: v for k, v in vars(module).items() if isinstance(v, jinja2.runtime.Macro)}
        # A plain string, as Django's backend renders a template (not ``Markup``,
        # which would copy the 400 kB of the heavy page once more).
        return "".join(block(self.template.new_context({**context, **macros})))


# Parts drawn once (``drawn_once``), by the template as loaded, then by part.
_drawn: WeakKeyDictionary[jinja2.Template, dict[tuple[str, str | None], str]] = WeakKeyDictionary()


def drawn_once(template: backend.Template, context: dict[str, Any], request: Any) -> Markup:
    """TEMPLATE (a part, ``template.jinja#part``, from this engine) drawn with
    CONTEXT the first time, and the same markup every time after: for a part
    that is the same on every page and for every user, such as a blank form's
    fields (Django's widgets take a third of a millisecond for a few radio
    buttons and a text area). Nothing that varies (a CSRF token, a name, a
    bound form) may be in such a part; it is kept per language. A template
    that Jinja2 reloads because it changed (DEBUG) is a new template: its
    parts are drawn again."""
    part = template.template
    drawn = _drawn.setdefault(part.template, {})
    key = (part.part, get_language())  # labels and help texts are translated
    if key not in drawn:
        drawn[key] = str(template.render(context, request))
    return Markup(drawn[key])


@lru_cache(maxsize=32)
def parts_of(template: jinja2.Template) -> frozenset[str]:
    """The names of TEMPLATE's blocks and macros: the parts it can render alone."""
    module = template.make_module({"alone": "*"})  # its macros, nothing drawn
    macros = {k for k, v in vars(module).items() if isinstance(v, jinja2.runtime.Macro)}
    return frozenset(template.blocks) | macros


class Jinja2(backend.Jinja2):
    """Django's Jinja2 backend, with ``template.jinja#part`` names (a block or
    a macro rendered alone)."""

    def from_string(self, template_code: str) -> backend.Template:
        return backend.Template(Part(self.env.from_string(template_code)), self)

    def get_template(self, template_name: str) -> backend.Template:
        name, _, part = template_name.partition("#")
        template = super().get_template(name).template
        if part and part not in parts_of(template):
            raise backend.TemplateDoesNotExist(template_name, backend=self)
        return backend.Template(Part(template, part), self)
