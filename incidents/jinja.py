"""Jinja2, the template engine of every page the project draws.

The engine is Django's own ``django.template.backends.jinja2`` backend (so
``render(request, "cases/list.jinja", ...)`` works as usual, with
``request``, ``csrf_input``, ``csrf_token`` and the context processors'
names), with two additions:

- ``environment``: autoescape on, a name the template does not know is an
  error (``StrictUndefined``), and Django's own helpers as globals and
  filters (``url``, ``static``, ``date``…), so pages write dates and numbers
  as the admin does.
- ``template.jinja#part``: PART, a block or a macro of the template, rendered
  alone. HTMX asks for one region of a page and gets exactly that part of
  the page's template (docs/architecture.md, "Pages and regions"). The
  template is first evaluated as a module with ``alone`` naming the part:
  that defines its macros, and a template draws nothing else when ``alone``
  is set (``{% if not alone %}{% extends ... %}{% endif %}``). A block is
  then drawn with those macros in its context.

One rendering gets one CSRF token, as a Django template does (Django's
Jinja2 backend would mask a new one at every use of ``csrf_input``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jinja2
from django.contrib.humanize.templatetags.humanize import intcomma, naturaltime
from django.middleware.csrf import get_token
from django.template import RequestContext, TemplateDoesNotExist, defaultfilters, defaulttags
from django.template.backends import jinja2 as backend
from django.templatetags import tz
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html
from django.utils.safestring import SafeString

# django-stubs 6.1.2 leaves out template_localtime (django/utils/timezone.py): the stub is wrong.
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]
from django_htmx.jinja import htmx_script


def url(name: str, *args: Any, **kwargs: Any) -> str:
    """``{% url name arg… %}``: the path of the view NAME."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def date(value: Any, arg: str | None = None) -> str:
    """``|date:arg`` in the current time zone, as Django's engine converts a
    datetime before its ``date`` filter (``expects_localtime``)."""
    return defaultfilters.date(template_localtime(value), arg)


def time(value: Any, arg: str | None = None) -> str:
    return defaultfilters.time(template_localtime(value), arg)


@jinja2.pass_context
def querystring(context: Any, *args: Any, **kwargs: Any) -> str:
    """``{% querystring key=value %}``: the request's query string ("?…") with
    KWARGS set (None removes a key), by Django's own tag."""
    return defaulttags.querystring(RequestContext(context["request"]), *args, **kwargs)


def environment(**options: Any) -> jinja2.Environment:
    options["undefined"] = jinja2.StrictUndefined
    options.setdefault("extensions", []).append("jinja2.ext.do")
    env = jinja2.Environment(**options)
    env.globals.update(url=url, static=static, htmx_script=htmx_script, querystring=querystring)
    env.filters.update(
        date=date,
        time=time,
        naturaltime=naturaltime,
        floatformat=defaultfilters.floatformat,
        truncatechars=defaultfilters.truncatechars,
        truncatewords=defaultfilters.truncatewords,
        pluralize=defaultfilters.pluralize,
        filesizeformat=defaultfilters.filesizeformat,
        linebreaksbr=defaultfilters.linebreaksbr,
        yesno=defaultfilters.yesno,
        intcomma=intcomma,
        utc=tz.utc,
        timezone=tz.do_timezone,
    )
    return env


def token_input(token: Any) -> SafeString:
    """Django's ``csrf_input`` for a given TOKEN: the hidden field a form posts it in."""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


class Part:
    """A Jinja2 template, or one block or macro of it alone, as Django's
    backend renders a template."""

    def __init__(self, template: jinja2.Template, part: str = "") -> None:
        self.template, self.part, self.filename = template, part, template.filename
        self.name = f"{template.name}#{part}" if part else template.name

    def render(self, context: dict[str, Any]) -> str:
        request = context.get("request")
        if request is not None:  # one token for the whole rendering
            token = SimpleLazyObject(partial(get_token, request))
            context["csrf_token"] = token
            context["csrf_input"] = SimpleLazyObject(partial(token_input, token))
        context["alone"] = self.part
        if not self.part:
            return self.template.render(context)
        # Evaluated with ``alone`` set, the template draws nothing but defines
        # its macros and imports others ({% from … import %}, which a module
        # would leave out): a block drawn alone sees both, as on the page.
        defined = self.template.new_context(context)
        for _ in self.template.root_render_func(defined):
            pass
        block = self.template.blocks.get(self.part)
        if block is None:
            return str(defined.vars[self.part]())
        names = {k: v for k, v in defined.vars.items() if isinstance(v, jinja2.runtime.Macro)}
        return "".join(block(self.template.new_context({**context, **names})))


def parts_of(template: jinja2.Template) -> set[str]:
    """The names of TEMPLATE's blocks and macros: the parts it can render alone."""
    module = template.make_module({"alone": "*"})  # its macros, nothing drawn
    macros = {k for k, v in vars(module).items() if isinstance(v, jinja2.runtime.Macro)}
    return set(template.blocks) | macros


class Jinja2(backend.Jinja2):
    """Django's Jinja2 backend, with ``template.jinja#part`` names."""

    def from_string(self, template_code: str) -> backend.Template:
        return _drawn(Part(self.env.from_string(template_code)), self)

    def get_template(self, template_name: str) -> backend.Template:
        name, _, part = template_name.partition("#")
        template = super().get_template(name).template
        if part and part not in parts_of(template):
            raise TemplateDoesNotExist(template_name, backend=self)
        return _drawn(Part(template, part), self)


def _drawn(part: Part, engine: Jinja2) -> backend.Template:
    """Django's template of the backend ENGINE, drawing PART."""
    # The stub is too narrow: it types the template as jinja2.Template, while
    # Django's backend only calls its render() and reads its filename and name
    # (django/template/backends/jinja2.py), all of which Part has.
    return backend.Template(part, engine)  # type: ignore[arg-type]
