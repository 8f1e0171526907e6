"""Every route of the URLconf, every kind of user: the expected answer, declared.

``EXPECTATIONS`` maps each named route to what anonymous, outsider,
observer, investigator, lead and staff get for GET (and POST when the route
writes). The test walks the whole URLconf: a route without a declaration
fails with its name, so a new route cannot ship without one. To declare a
route, add a line built from the profiles below (or an ``Expect`` of its own).

Values: an HTTP status, ``LOGIN`` (a redirect to the log-in page), or a set
of those when several are right (an empty POST may be a form error, 422, or a
redirect, 302: what matters is that access was granted, not the input).
Every request runs in a savepoint rolled back afterwards, so a lead's POST
does not change what the next role sees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from incidents.cases.models import Incident
from incidents.evidence.models import Annotation, EvidenceItem
from incidents.hypotheses.models import Assessment, Hypothesis
from tests.chronology.test_chronology import probe_args
from tests.evidence_factories import png_bytes

ROLES = ("anonymous", "outsider", "observer", "investigator", "lead", "staff")
LOGIN = "login"
ADMIN_LOGIN = "admin-login"
DONE = frozenset({200, 302, 409, 422})  # access granted: the write ran or its input was refused
Answer = int | str | frozenset


@dataclass(frozen=True)
class Expect:
    get: dict[str, Answer] | None = None  # None: GET is not allowed (405 for everyone signed in)
    post: dict[str, Answer] | None = None  # None: POST is not a write route
    args: Callable[[Any], dict[str, Any]] = field(default=lambda w: {})
    query: str = ""


def by_role(
    anonymous: Answer,
    outsider: Answer,
    observer: Answer,
    investigator: Answer,
    lead: Answer,
    staff: Answer,
) -> dict[str, Answer]:
    return dict(zip(ROLES, (anonymous, outsider, observer, investigator, lead, staff), strict=True))


# Profiles for a case's routes.
CASE_READ = by_role(LOGIN, 404, 200, 200, 200, 200)
CASE_WRITE = by_role(LOGIN, 404, 403, DONE, DONE, 403)
# A write whose empty post is refused for its missing fields and version (CompletePostMixin).
CASE_WRITE_400 = by_role(LOGIN, 404, 403, DONE | {400}, DONE | {400}, 403)
CASE_LEAD = by_role(LOGIN, 404, 403, 403, DONE, 403)
CASE_LEAD_PAGE = by_role(LOGIN, 404, 403, 403, 200, 403)
SIGNED_IN = by_role(LOGIN, 200, 200, 200, 200, 200)
PUBLIC = by_role(200, 200, 200, 200, 200, 200)
ADMIN_ONLY = by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200)
# Staff without model permissions: the admin refuses the model pages.
ADMIN_NO_PERMISSION = by_role(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403)

ref = lambda w: {"reference": w.incident.reference}  # noqa: E731
item = lambda w: {"pk": w.item.pk}  # noqa: E731
chrono = lambda what: lambda w: probe_args(w, what)  # noqa: E731

EXPECTATIONS: dict[str, Expect] = {
    # Project level
    "home": Expect(get=SIGNED_IN),
    # Signed receipts of the audit trail's head: staff only.
    "audit:receipt": Expect(get=by_role(LOGIN, 403, 403, 403, 403, 200)),
    "audit:receipt_json": Expect(get=by_role(LOGIN, 403, 403, 403, 403, 200)),
    "healthz": Expect(get=PUBLIC),
    "favicon": Expect(get=by_role(302, 302, 302, 302, 302, 302)),
    "login": Expect(get=PUBLIC, post=by_role(200, 200, 200, 200, 200, 200)),
    "logout": Expect(get=None, post=by_role(*[LOGIN] * 6)),  # then to the log-in page
    "password_change": Expect(get=SIGNED_IN, post=by_role(LOGIN, 200, 200, 200, 200, 200)),
    "password_change_done": Expect(get=SIGNED_IN),
    # Password reset exists only when e-mail is configured (not in tests): 404.
    "password_reset": Expect(get=by_role(*[404] * 6), post=by_role(*[404] * 6)),
    "password_reset_done": Expect(get=by_role(*[404] * 6)),
    "password_reset_confirm": Expect(
        get=by_role(*[404] * 6), args=lambda w: {"uidb64": "MQ", "token": "bad-token"}
    ),
    "password_reset_complete": Expect(get=by_role(*[404] * 6)),
    # One's own account: sessions, two-step sign-in (here nobody has it: verify sends on).
    "account": Expect(get=SIGNED_IN),
    "account_sessions": Expect(get=SIGNED_IN, post=by_role(LOGIN, *[DONE] * 5)),
    "two_factor": Expect(get=SIGNED_IN, post=by_role(LOGIN, *[DONE] * 5)),
    "two_factor_setup": Expect(get=SIGNED_IN, post=by_role(LOGIN, *[DONE] * 5)),
    "two_factor_verify": Expect(get=by_role(LOGIN, *[302] * 5), post=by_role(LOGIN, *[302] * 5)),
    # Cases
    "cases:list": Expect(get=SIGNED_IN),
    "cases:new": Expect(get=SIGNED_IN, post=by_role(LOGIN, DONE, DONE, DONE, DONE, DONE)),
    "cases:detail": Expect(get=CASE_READ, args=ref),
    # An empty post lacks every field and the version: refused, 400 (CompletePostMixin).
    "cases:edit": Expect(
        get=CASE_WRITE, post=by_role(LOGIN, 404, 403, DONE | {400}, DONE | {400}, 403), args=ref
    ),
    "cases:status": Expect(post=CASE_LEAD, args=ref),
    "cases:timeline": Expect(post=CASE_WRITE, args=ref),
    "cases:members": Expect(get=CASE_LEAD_PAGE, post=CASE_LEAD, args=ref),
    "cases:history": Expect(get=CASE_LEAD_PAGE, args=ref),
    "cases:export": Expect(get=CASE_READ, args=ref),
    # Hypotheses and the matrix
    "hypotheses:add": Expect(post=CASE_WRITE, args=ref),
    "hypotheses:move": Expect(
        get=CASE_WRITE,  # the move form's citation list, loaded when asked for
        post=CASE_WRITE,
        args=lambda w: {**ref(w), "pk": w.hypothesis.pk},
    ),
    "hypotheses:confidence": Expect(
        get=CASE_WRITE,  # the confidence form, loaded when its panel is opened
        post=CASE_WRITE,
        args=lambda w: {**ref(w), "pk": w.hypothesis.pk},
    ),
    "hypotheses:cell": Expect(
        get=CASE_WRITE,  # opening a cell's editor is a writer's act
        post=CASE_WRITE,
        args=lambda w: {**ref(w), "evidence_id": w.item.pk, "hypothesis_id": w.hypothesis.pk},
    ),
    # Evidence
    "evidence:attach": Expect(post=CASE_WRITE, args=ref),
    "evidence:detail": Expect(get=CASE_READ, args=item),
    "evidence:download": Expect(get=CASE_READ, args=item),
    "evidence:thumbnail": Expect(get=CASE_READ, args=item),
    "evidence:transfer": Expect(post=CASE_WRITE, args=item),
    "evidence:verify": Expect(post=CASE_WRITE, args=item),
    "evidence:use_metadata": Expect(post=CASE_WRITE, args=item),
    # An empty post lacks every field and the version: refused, 400 (CompletePostMixin).
    "evidence:edit": Expect(get=CASE_WRITE, post=CASE_WRITE_400, args=item),
    "evidence:restore": Expect(post=CASE_WRITE_400, args=item),
    # An empty post lacks the text and the version: refused, 400, nothing emptied.
    "evidence:edit_text": Expect(post=CASE_WRITE_400, args=item),
    "evidence:annotate": Expect(post=CASE_WRITE, args=item),
    # Only its author (here the investigator) edits or deletes an annotation.
    "evidence:annotation_edit": Expect(
        get={**CASE_WRITE, "lead": 403},  # the edit form, loaded when its panel is opened
        post={**CASE_WRITE_400, "lead": 403},
        args=lambda w: {**item(w), "annotation_pk": w.annotation.pk},
    ),
    "evidence:annotation_delete": Expect(
        post={**CASE_WRITE, "lead": 403},
        args=lambda w: {**item(w), "annotation_pk": w.annotation.pk},
    ),
    "evidence:jsonld": Expect(get=CASE_READ, args=item),
    "evidence:case_annotations": Expect(get=CASE_READ, args=ref),
    # The chronology (tests/chronology/test_chronology.py): forms load for writers; staff read only.
    "chronology:page": Expect(get=CASE_READ, args=ref),
    "chronology:csv": Expect(get=CASE_READ, args=ref),
    "chronology:clock_new": Expect(get=CASE_WRITE, post=CASE_WRITE, args=ref),
    "chronology:clock_edit": Expect(get=CASE_WRITE, post=CASE_WRITE, args=chrono("clock")),
    "chronology:clock_delete": Expect(post=CASE_WRITE, args=chrono("clock")),
    "chronology:event_new": Expect(get=CASE_WRITE, post=CASE_WRITE, args=ref),
    "chronology:event_edit": Expect(get=CASE_WRITE, post=CASE_WRITE, args=chrono("event")),
    "chronology:event_delete": Expect(post=CASE_WRITE, args=chrono("event")),
    "chronology:ordering_new": Expect(get=CASE_WRITE, post=CASE_WRITE, args=ref),
    "chronology:ordering_edit": Expect(get=CASE_WRITE, post=CASE_WRITE, args=chrono("ordering")),
    "chronology:ordering_delete": Expect(post=CASE_WRITE, args=chrono("ordering")),
    "chronology:source_clock": Expect(get=CASE_WRITE, post=CASE_WRITE, args=chrono("source")),
    # Case reports (docs/reports.md): members read them, writers make them. Report 1 does
    # not exist here (tests/reports/test_reports.py has made ones): 404 for those who may look.
    "reports:list": Expect(get=CASE_READ, post=CASE_WRITE, args=ref),
    "reports:row": Expect(get=by_role(LOGIN, *[404] * 5), args=lambda w: {**ref(w), "number": 1}),
    "reports:download": Expect(
        get=by_role(LOGIN, *[404] * 5), args=lambda w: {**ref(w), "number": 1}
    ),
    "reports:retry": Expect(
        post=by_role(LOGIN, 404, 403, 404, 404, 403), args=lambda w: {**ref(w), "number": 1}
    ),
    "reports:markings": Expect(get=CASE_READ, post=CASE_WRITE, args=ref),
    "reports:judgements": Expect(get=CASE_READ, post=CASE_LEAD, args=ref),
}

# The admin: every route of the admin site is for staff; without a
# permission, staff are refused the model pages, except the audit trail
# which every staff member may read. Routes taking an object id get "1".
ADMIN_PUBLIC = {
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
}


def admin_expectation(name: str, converters: list[str]) -> Expect:
    args = lambda w: {c: ("1" if c != "content_type_id" else w.incident_type) for c in converters}  # noqa: E731
    if name == "admin:login":  # signed-in staff are sent on to the index
        return Expect(get={**PUBLIC, "staff": 302}, post=PUBLIC)
    if name == "admin:logout":  # non-staff are sent to the admin index; staff log out
        return Expect(
            get={**by_role(*[302] * 6), "staff": 405}, post={**by_role(*[302] * 6), "staff": LOGIN}
        )
    if name in {"admin:password_change", "admin:password_change_done", "admin:jsi18n"}:
        return Expect(get=ADMIN_ONLY)
    if name in {"admin:index", "admin:autocomplete"}:
        return Expect(
            get={**ADMIN_ONLY, "staff": 200 if name == "admin:index" else frozenset({403, 200})},
            args=args,
        )
    if name == "admin:view_on_site":
        return Expect(get={**ADMIN_ONLY, "staff": frozenset({302, 404})}, args=args)
    if name == "admin:app_list":
        return Expect(
            get={**ADMIN_ONLY, "staff": frozenset({200, 404})},
            args=lambda w: {"app_label": "audit"},
        )
    if name.startswith("admin:audit_auditevent_"):
        staff: Answer = 200 if name.endswith("_changelist") else frozenset({200, 302, 403, 404})
        return Expect(get={**ADMIN_ONLY, "staff": staff}, args=args)
    return Expect(get={**ADMIN_NO_PERMISSION, "staff": frozenset({403, 302, 404})}, args=args)


@dataclass(frozen=True)
class Route:
    """A named route of the URLconf: its path parameters, and its path as
    written with ``path()`` (``cases/<ref:reference>/``; None for a regular
    expression, as the admin's ``re_path``)."""

    name: str
    converters: list[str]
    template: str | None


def routes(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[Route]:
    """Every named route of the URLconf, included ones too, recursively."""
    for entry in (resolver or get_resolver()).url_patterns:
        own = list(entry.pattern.converters.keys())
        written = entry.pattern._route if isinstance(entry.pattern, RoutePattern) else None
        if isinstance(entry, URLResolver):
            inner = ":".join(p for p in (namespace, entry.namespace or "") if p)
            for route in routes(entry, inner):
                template = (
                    None if None in (written, route.template) else f"{written}{route.template}"
                )
                yield Route(route.name, [*own, *route.converters], template)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(name, own, written)


def walk() -> Iterator[tuple[str, list[str]]]:
    """(name, path parameters) of every named route."""
    for route in routes():
        yield route.name, route.converters


ROUTES = dict(walk())


def expectation(name: str) -> Expect | None:
    if name.startswith("admin:"):
        return admin_expectation(name, ROUTES[name])
    return EXPECTATIONS.get(name)


def test_every_route_has_a_declared_expectation() -> None:
    missing = sorted(name for name in ROUTES if expectation(name) is None)
    assert not missing, (
        "Routes without a declared access expectation (add them to EXPECTATIONS in "
        f"tests/guards/test_access_matrix.py): {', '.join(missing)}"
    )


def test_no_stale_declarations() -> None:
    stale = sorted(set(EXPECTATIONS) - set(ROUTES))
    # cases:export is declared ahead of the export view landing.
    assert set(stale) <= {"cases:export"}, f"Declared routes that no longer exist: {stale}"


@dataclass
class World:
    incident: Incident
    hypothesis: Hypothesis
    item: EvidenceItem
    annotation: Annotation
    incident_type: int
    users: dict[str, Any]


@pytest.fixture
def world(
    incident: Incident, lead: Any, investigator: Any, observer: Any, outsider: Any, staff: Any
) -> World:
    return make_world(incident, lead, investigator, observer, outsider, staff)


def make_world(
    incident: Incident, lead: Any, investigator: Any, observer: Any, outsider: Any, staff: Any
) -> World:
    """The case with a hypothesis, an item (a PNG with text), a rating and an
    annotation (the investigator's), and the users by role."""
    from django.contrib.contenttypes.models import ContentType

    hypothesis = Hypothesis.propose(
        incident, by=lead, statement="A glitch.", kind="technical_fault"
    )
    upload = SimpleUploadedFile("frame.png", png_bytes(), content_type="image/png")
    evidence = EvidenceItem.attach(
        incident,
        by=investigator,
        title="Frame",
        upload=upload,
        text_body="The screen showed a flag.",
    )
    Assessment.rate(evidence, hypothesis, by=investigator, rating="C")
    annotation = Annotation.create_for(
        evidence, by=investigator, body="Here.", exact="showed a flag", start=11, end=24
    )
    users = {
        "outsider": outsider,
        "observer": observer,
        "investigator": investigator,
        "lead": lead,
        "staff": staff,
    }
    return World(
        incident,
        hypothesis,
        evidence,
        annotation,
        ContentType.objects.get_for_model(Incident).pk,
        users,
    )


def _matches(response: Any, expected: Answer) -> bool:
    options = expected if isinstance(expected, frozenset) else frozenset({expected})
    location = response.headers.get("Location", "")
    for option in options:
        if option == LOGIN and response.status_code == 302 and "/accounts/login/" in location:
            return True
        if option == ADMIN_LOGIN and response.status_code == 302 and "/admin/login/" in location:
            return True
        if isinstance(option, int) and response.status_code == option:
            if option == 302 and ("/accounts/login/" in location or "/admin/login/" in location):
                continue  # a redirect to log in is LOGIN, not access granted
            return True
    return False


def check_route(name: str, world: World) -> list[str]:
    declared = expectation(name)
    if declared is None:
        return [f"Route {name!r} has no declared access expectation: add it to EXPECTATIONS."]
    from django.urls import reverse

    url = reverse(name, kwargs=declared.args(world) or None) + declared.query
    failures = []
    for role in ROLES:
        client = Client()
        client.raise_request_exception = False
        if role != "anonymous":
            client.force_login(world.users[role])
        for method, table in (("GET", declared.get), ("POST", declared.post)):
            if table is None and method == "POST":
                continue
            with transaction.atomic():
                response = client.get(url) if method == "GET" else client.post(url, {})
                transaction.set_rollback(True)
            if table is None:  # GET on a POST-only route
                expected: Answer = (
                    frozenset({405, LOGIN, ADMIN_LOGIN}) if role == "anonymous" else 405
                )
            else:
                expected = table[role]
            if not _matches(response, expected):
                failures.append(
                    f"{method} {url} as {role}: {response.status_code} (expected {expected})"
                )
    return failures


@pytest.mark.parametrize("name", sorted(n for n in ROUTES if not n.startswith("admin:")))
@pytest.mark.django_db
def test_route_matrix(name: str, world: World) -> None:
    failures = check_route(name, world)
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_admin_route_matrix(world: World) -> None:
    """The admin's many routes share one rule set: checked together, on one set of data."""
    failures = [
        failure
        for name in sorted(ROUTES)
        if name.startswith("admin:")
        for failure in check_route(name, world)
    ]
    assert not failures, "\n".join(failures)
