"""Property-based tests (hypothesis): no input makes a 500; access and transitions hold."""

from __future__ import annotations

import base64
import os
import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client, RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.accounts.access import Need, access_level, get_case_for_user
from incidents.audit.versioning import Conflict
from incidents.cases.models import Incident, Membership
from incidents.hypotheses.models import Hypothesis

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any text a browser could send (and some it would not): controls, NUL, surrogates excluded by HTTP.
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=400)
statuses = st.sampled_from([*Hypothesis.Status.values, "", "bogus", "CONFIRMED"])


@pytest.mark.django_db
@FAST
@given(statement=texts, description=texts, kind=st.sampled_from([*Hypothesis.Kind.values, "x", ""]))
def test_adding_a_hypothesis_never_errors(
    client: Client, incident: Incident, lead: Any, statement: str, description: str, kind: str
) -> None:
    client.force_login(lead)
    before = Hypothesis.objects.count()
    response = client.post(
        f"/cases/{incident.reference}/hypotheses/new/",
        {"hyp-kind": kind, "hyp-statement": statement, "hyp-description": description},
    )
    assert response.status_code in (302, 200, 422)
    added = Hypothesis.objects.count() - before
    assert added == (1 if response.status_code == 302 else 0)
    if added:
        h = Hypothesis.objects.latest("id")
        assert "\x00" not in h.statement + h.description and len(h.statement) <= 300


@pytest.mark.django_db
@FAST
@given(
    body=texts,
    kind=st.sampled_from(["note", "finding", "official_statement", "case_status", "", "x"]),
)
def test_posting_to_the_timeline_never_errors(
    client: Client, incident: Incident, investigator: Any, body: str, kind: str
) -> None:
    client.force_login(investigator)
    response = client.post(
        f"/cases/{incident.reference}/timeline/",
        {"update-kind": kind, "update-body": body},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code in (200, 302, 422)
    html = response.content.decode()
    assert "<script>" not in html


@pytest.mark.django_db
@FAST
@given(
    moves=st.lists(
        st.tuples(statuses, texts, st.one_of(st.none(), st.integers(-2, 12))), max_size=12
    )
)
def test_hypothesis_moves_follow_the_graph(
    incident: Incident, lead: Any, moves: list[tuple[str, str, int | None]]
) -> None:
    h = Hypothesis.propose(incident, by=lead, statement="Under test.", kind="other")
    done = 0
    for target, rationale, expected in moves:
        before_status, before_version = h.status, h.version
        try:
            h.move_to(target, by=lead, rationale=rationale, expected_version=expected)
        except (ValidationError, Conflict):
            h.refresh_from_db()
            assert (h.status, h.version) == (before_status, before_version)
            continue
        done += 1
        assert target in Hypothesis.TRANSITIONS[before_status]
        assert rationale.strip()
        assert expected in (None, before_version)
        assert h.version == before_version + 1
    h.refresh_from_db()
    assert h.status in Hypothesis.Status.values
    assert h.moves.count() == done and h.version == 1 + done
    # The recorded moves chain: each starts where the previous ended.
    previous = Hypothesis.Status.PROPOSED
    for move in h.moves.order_by("id"):
        assert move.from_status == previous and move.to_status in Hypothesis.TRANSITIONS[previous]
        previous = move.to_status


@pytest.mark.django_db
@FAST
@given(steps=st.lists(st.sampled_from([*Incident.Status.values, "nope"]), max_size=8))
def test_case_status_moves_follow_the_graph_and_the_resolve_rule(
    incident: Incident, lead: Any, steps: list[str]
) -> None:
    incident = Incident.open_case(by=lead, title="Fresh case for this example")
    h = Hypothesis.propose(incident, by=lead, statement="Only one.", kind="other")
    for target in steps:
        before = incident.status
        try:
            incident.move_to(target, by=lead, reason="Because.")
        except ValidationError:
            incident.refresh_from_db()
            assert incident.status == before
            continue
        assert target in Incident.TRANSITIONS[before]
        if target == Incident.Status.RESOLVED:
            assert h.status == Hypothesis.Status.CONFIRMED  # never: it is only proposed
    assert incident.status != Incident.Status.RESOLVED


ROLE_CHOICES = st.sampled_from([None, *Membership.Role.values])


@pytest.mark.django_db
@FAST
@given(
    role=ROLE_CHOICES,
    is_staff=st.booleans(),
    is_superuser=st.booleans(),
    is_active=st.booleans(),
    need=st.sampled_from(list(Need)),
)
def test_access_rules_hold_for_every_kind_of_user(
    incident: Incident,
    outsider: Any,
    role: str | None,
    is_staff: bool,
    is_superuser: bool,
    is_active: bool,
    need: Need,
) -> None:
    outsider.is_staff, outsider.is_superuser, outsider.is_active = is_staff, is_superuser, is_active
    outsider.save()
    Membership.objects.filter(incident=incident, user=outsider).delete()
    if role:
        Membership.objects.create(incident=incident, user=outsider, role=role)
    request = RequestFactory().get("/")
    request.user = outsider
    level = access_level(outsider, role)
    visible = Incident.objects.visible_to(outsider).filter(pk=incident.pk).exists()
    try:
        access = get_case_for_user(request, incident.reference, need)
    except Http404:
        assert level is None
        assert not visible or not is_active or (not role and not is_staff)
        return
    except PermissionDenied:
        assert level is not None and level < need and visible
        return
    assert level is not None and level >= need and access.level == level
    # Whoever may open a case finds it in their list (superusers see all, as staff).
    assert visible or is_superuser
    assert is_active
    if not is_superuser and not role:
        assert is_staff and level == Need.READ


# -- No 500 from input: every route, every role, hostile values everywhere (issue 16) --------
#
# Every named route of the URLconf but the admin's (``test_access_matrix.routes``) is
# requested as each role (anonymous, outsider, observer, investigator, lead, staff) with
# hostile values in its path parameters, in the query parameters the views read and in
# the fields of its forms, GET and POST: nothing may answer 5xx. A route the tables
# below do not cover fails ``test_every_route_is_probed``. In CI each route gets
# EDGE_EXAMPLES random requests (hypothesis, the same ones on every run); the path
# parameters get the whole catalogue; ``INQUEST_EDGE_SWEEP=1`` also sends every value of
# the catalogue alone in every query parameter and form field of every route (minutes).

EDGE_EXAMPLES = int(os.environ.get("INQUEST_EDGE_EXAMPLES", "20"))  # per route
EDGES = settings(
    max_examples=EDGE_EXAMPLES,
    deadline=None,
    database=None,  # the same examples on every run and on both databases
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _cursor(raw: str) -> str:
    """A page cursor (``search.Cursor``) made by hand: base64 of the JSON RAW."""
    return base64.urlsafe_b64encode(raw.encode()).decode()


# bytes: sent as they are, percent-escaped (invalid UTF-8); str: UTF-8, percent-escaped.
HOSTILE: list[str | bytes] = [
    # integers: past 64 bits, at and over its edge, negative, zero, padded
    "99999999999999999999",
    str(2**63),
    str(2**63 - 1),
    str(2**64),
    "-1",
    "-9223372036854775809",
    "0",
    "00000000000000000000000000001",
    "1e309",
    "NaN",
    # digits that are not ASCII: str.isdigit() accepts them, int() refuses or misreads them
    "²",
    "١٢",
    "１２",
    "12²",
    "1\n",
    # the calendar's edges, and zones at the edges of the offsets
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59",
    "0001-01-01T00:00",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2024-02-30",
    "10000-01-01",
    "Etc/GMT+12",
    "Pacific/Kiritimati",
    # NUL, invalid UTF-8, long strings
    "\x00",
    "a\x00b",
    b"\xff\xfe",
    b"\xc3\x28",
    b"\xed\xa0\x80",  # a surrogate, encoded
    "x" * 10_000,
    "9" * 10_000,
    "²" * 10_000,
    # hand-made page cursors: out-of-range ids and times, NUL, a surrogate, odd shapes
    _cursor('[0,["9999-12-31T23:59:59-12:00",99999999999999999999]]'),
    _cursor('[0,["2024-01-01T00:00:00+00:00",-5]]'),
    _cursor('[0,["2024-02-30T00:00:00+00:00",1]]'),
    _cursor('[0,["\\u0000"]]'),
    _cursor('[0,["\\ud800"]]'),
    _cursor("[0,[1e999,1]]"),
    _cursor("[0,[NaN,1]]"),
    _cursor("[0,[99999999999999999999]]"),
    _cursor('[3,["0001-01-01T00:00:00+14:00",1]]'),
    # and the ordinary odd ones
    "",
    "all",
    "<script>",
]
HOSTILE_VALUES = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.text(max_size=50),
)

# Every name a view reads from the query string (``test_every_query_parameter_is_tried``
# finds the literal ones in the code): the case list's filter form, the case page's
# options, the evidence and annotation filters, pages, Django's ``next``, the chronology,
# the reports.
QUERY_PARAMS = [
    *("scope", "q", "status", "severity", "tag", "lead", "occurred_from", "occurred_to"),
    *("confirmed", "sort", "after", "before", "rows", "sources", "kind", "explain"),
    *("status_form", "add", "attach", "cancel", "region", "hypothesis", "author", "stance"),
    *("page", "next", "a", "b", "saved", "show"),
    *("from", "to"),  # the chronology's range (read through the page's params)
]

# The forms each write route reads, by class name (wherever the class lives) and
# prefix ({h}: the hypothesis's id, {a}: the annotation's), and the names it reads
# from the POST besides. A route that takes POST must be listed.
POSTED_FORMS: dict[str, tuple[tuple[str, str], ...]] = {
    "cases:new": (("NewCaseForm", ""),),
    "cases:timeline": (("UpdateForm", "update"),),
    "cases:status": (("CaseStatusForm", ""),),
    "cases:members": (("AddMemberForm", ""), ("MemberForm", "")),
    "hypotheses:add": (("HypothesisForm", "hyp"),),
    "hypotheses:move": (("MoveForm", "move-{h}"),),
    "hypotheses:confidence": (("ConfidenceForm", "conf-{h}"),),
    "hypotheses:cell": (("CellForm", ""),),
    "evidence:attach": (("AttachForm", "ev"),),
    "evidence:transfer": (("TransferForm", ""),),
    "evidence:edit_text": (("TextForm", ""),),
    "evidence:annotate": (("AnnotationForm", "new"),),
    "evidence:annotation_edit": (("AnnotationEditForm", "a{a}"),),
    "chronology:clock_new": (("ClockForm", ""),),
    "chronology:clock_edit": (("ClockForm", ""),),
    "chronology:event_new": (("EventForm", ""),),
    "chronology:event_edit": (("EventForm", ""),),
    "chronology:ordering_new": (("OrderingForm", ""),),
    "chronology:ordering_edit": (("OrderingForm", ""),),
    "chronology:source_clock": (("SourceClockForm", ""),),
    "reports:list": (("RequestForm", ""),),
    "reports:markings": (("MarkForm", ""),),
    "reports:judgements": (("JudgementsForm", ""),),
    "login": (("AuthenticationForm", ""),),
    "password_change": (("PasswordChangeForm", ""),),
    "password_reset": (("PasswordResetForm", ""),),
    "password_reset_confirm": (("SetPasswordForm", ""),),
    "two_factor": (("PasswordForm", ""),),
    "two_factor_setup": (("CodeForm", ""),),
    "two_factor_verify": (("VerifyForm", ""),),
    "cases:edit": (("CaseEditForm", ""),),
    "evidence:edit": (("SourceEditForm", ""), ("RegradeForm", ""), ("WithdrawForm", "")),
    "evidence:restore": (("RestoreForm", ""),),
}
POSTED_EXTRA: dict[str, tuple[str, ...]] = {
    "cases:members": ("action",),
    "account_sessions": ("action",),
    "two_factor": ("action",),
    "two_factor_verify": ("next",),
    "evidence:edit": ("what",),
    "hypotheses:cell": ("sort", "rows"),
    "evidence:use_metadata": ("use",),
    # Writes without a form: the version read (``posted_version``) alone.
    "logout": (),
    "evidence:verify": (),
    "evidence:annotation_delete": (),
    "chronology:clock_delete": (),
    "chronology:event_delete": (),
    "chronology:ordering_delete": (),
    "reports:retry": (),
    "reports:markings": ("kind", "id"),
}
# Valid posts the hostile values are mixed into (besides test_bad_input.FORMS).
BASELINES: dict[str, Callable[[Any], dict[str, str]]] = {
    "cases:members": lambda w: {"action": "change", "user": str(w.users["observer"].pk)},
    "login": lambda w: {"username": "alice", "password": "wrong"},
    "password_change": lambda w: {
        "old_password": "wrong",
        "new_password1": "a new one 123",
        "new_password2": "a new one 123",
    },
    "password_reset": lambda w: {"email": "alice@example.org"},
    "evidence:use_metadata": lambda w: {"use": "event_at"},
}


def _form_classes() -> dict[str, type]:
    """Every form class of the project and of Django's auth imported so far, by name
    (the admin's left out)."""
    from django import forms

    found: dict[str, type] = {}
    pending: list[type] = [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        module = cls.__module__
        mine = module.startswith(("incidents.", "django.contrib.auth.")) and ".admin" not in module
        if mine and hasattr(cls, "base_fields"):  # a form, not a mixin
            found.setdefault(cls.__name__, cls)
    return found


def posted_names(name: str, world: Any) -> list[str]:
    """The names route NAME reads from a POST: its forms' fields, prefixed, and the
    rest; for a route not listed, every field name of every form."""
    classes = _form_classes()
    names = ["version", *POSTED_EXTRA.get(name, ())]
    if name not in POSTED_FORMS and name not in POSTED_EXTRA:
        return [*names, *sorted({f for form in classes.values() for f in form.base_fields})]
    for class_name, prefix in POSTED_FORMS.get(name, ()):
        form = classes[class_name]
        shown = prefix.format(h=world.hypothesis.pk, a=world.annotation.pk)
        names += [f"{shown}-{key}" if shown else key for key in form.base_fields]
    return list(dict.fromkeys(names))


def baseline(name: str, world: Any) -> dict[str, str | bytes]:
    """A valid post of route NAME, into which hostile values are mixed."""
    from tests.guards.test_bad_input import FORMS

    for spec in FORMS:
        if spec.route == name:
            return {k: str(v) for k, v in spec.baseline(world).items()}
    return dict(BASELINES[name](world)) if name in BASELINES else {}


def probed_routes() -> dict[str, Any]:
    """The routes the probe walks: every named route but the admin's."""
    from tests.guards.test_access_matrix import routes

    return {r.name: r for r in routes() if not r.name.startswith("admin:")}


def valid_args(name: str, world: Any) -> dict[str, str]:
    """Route NAME's path parameters for the world's case (the access matrix's)."""
    from tests.guards.test_access_matrix import EXPECTATIONS

    expect = EXPECTATIONS.get(name)
    args = {k: str(v) for k, v in expect.args(world).items()} if expect else {}
    missing = set(probed_routes()[name].converters) - set(args)
    if missing:
        pytest.fail(
            f"{name}: declare it, with its path parameters, in tests/guards/test_access_matrix.py"
        )
    return args


def path_of(route: Any, values: dict[str, str | bytes]) -> str:
    """ROUTE's path with VALUES in its parameters, each percent-escaped as it is."""
    return "/" + re.sub(
        r"<(?:\w+:)?(\w+)>", lambda m: quote(values[m[1]], safe=""), route.template or ""
    )


def test_every_route_is_probed() -> None:
    from tests.guards.test_access_matrix import EXPECTATIONS

    found = probed_routes()
    assert len(found) >= 30
    missing = []
    for name, route in found.items():
        assert route.template is not None, f"{name}: a regular expression route; probe it"
        if route.converters and name not in EXPECTATIONS:
            missing.append(f"{name}: declare it, with its path parameters, in EXPECTATIONS")
        expect = EXPECTATIONS.get(name)
        if expect and expect.post is not None and name not in {*POSTED_FORMS, *POSTED_EXTRA}:
            missing.append(f"{name}: list the forms it reads in POSTED_FORMS")
    assert not missing, "\n".join(missing)
    classes = _form_classes()
    for forms_of in POSTED_FORMS.values():
        for class_name, _prefix in forms_of:
            assert class_name in classes, f"no form class {class_name}"


def test_every_query_parameter_is_tried() -> None:
    """The literal names the views read from the query string are all in QUERY_PARAMS."""
    from incidents.cases.forms import CaseFilterForm

    read: set[str] = set(CaseFilterForm.base_fields)
    for source in pathlib.Path("incidents").rglob("*.py"):
        if "perf" in source.parts or source.name == "admin.py":
            continue
        read |= set(re.findall(r"\bGET\.get(?:list)?\(\s*\"(\w+)\"", source.read_text()))
    assert read - set(QUERY_PARAMS) == set(), "add them to QUERY_PARAMS"


@dataclass
class Probe:
    """One request of the probe (and what it tried, for a failure's message)."""

    method: str
    role: str
    path: str
    query: list[tuple[str, str | bytes]] = field(default_factory=list)
    posted: dict[str, str | bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        short = lambda v: repr(v if len(v) <= 40 else v[:20] + v[-4:]) + f"[{len(v)}]"  # noqa: E731
        query = ", ".join(f"{k}={short(v)}" for k, v in self.query)
        posted = ", ".join(f"{k}={short(v)}" for k, v in self.posted.items())
        return (
            f"{self.method} {self.path[:200]} as {self.role} ?{query} POST {posted} {self.headers}"
        )


def send(clients: dict[str, Client], probe: Probe) -> Any:
    """PROBE's request, in a savepoint rolled back after it."""
    from django.db import transaction

    client = clients[probe.role]
    path = probe.path + ("?" + urlencode(probe.query) if probe.query else "")
    with transaction.atomic():
        if probe.method == "GET":
            response = client.get(path, **probe.headers)
        else:
            body = urlencode(list(probe.posted.items()))
            response = client.post(
                path, body, content_type="application/x-www-form-urlencoded", **probe.headers
            )
        transaction.set_rollback(True)
    return response


def failures_of(clients: dict[str, Client], probes: list[Probe]) -> list[str]:
    """The probes answered 5xx, with their status."""
    failed = []
    for probe in probes:
        response = send(clients, probe)
        if response.status_code >= 500:
            failed.append(f"{response.status_code}: {probe}")
    return failed


@pytest.fixture
def edge_world(
    incident: Incident, lead: Any, investigator: Any, observer: Any, outsider: Any, staff: Any
) -> tuple[Any, dict[str, Client]]:
    """The access matrix's case (one member of each role), and a signed-in client per role."""
    from tests.guards.test_access_matrix import ROLES, make_world

    world = make_world(incident, lead, investigator, observer, outsider, staff)
    clients = {}
    for role in ROLES:
        client = Client()
        client.raise_request_exception = False  # a 500 is an answer to count, not a crash
        if role != "anonymous":
            client.force_login(world.users[role])
        clients[role] = client
    return world, clients


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(probed_routes()))
@EDGES
@given(data=st.data())
def test_no_input_makes_a_500(name: str, edge_world: Any, data: st.DataObject) -> None:
    """A random request: a role, GET or POST, hostile values in some of the path
    parameters, in up to four query parameters and four form fields, with or without HTMX."""
    from tests.guards.test_access_matrix import ROLES

    world, clients = edge_world
    route = probed_routes()[name]
    values: dict[str, str | bytes] = dict(valid_args(name, world))
    hostile = data.draw(st.sets(st.sampled_from(sorted(values))), label="path") if values else ()
    for key in sorted(hostile):
        values[key] = data.draw(HOSTILE_VALUES, label=f"path {key}")
    probe = Probe(
        data.draw(st.sampled_from(["GET", "POST"]), label="method"),
        data.draw(st.sampled_from(ROLES), label="role"),
        path_of(route, values),
    )
    for key in data.draw(st.lists(st.sampled_from(QUERY_PARAMS), max_size=4), label="query"):
        probe.query.append((key, data.draw(HOSTILE_VALUES, label=f"query {key}")))
    if probe.method == "POST":
        probe.posted.update(baseline(name, world))
        fields = posted_names(name, world)
        for key in data.draw(st.lists(st.sampled_from(fields), max_size=4), label="fields"):
            probe.posted[key] = data.draw(HOSTILE_VALUES, label=f"field {key}")
    if data.draw(st.booleans(), label="htmx"):
        probe.headers["HTTP_HX_REQUEST"] = "true"
        target = st.sampled_from(["", "timeline-more", "matrix", "header", "x" * 1000])
        probe.headers["HTTP_HX_TARGET"] = data.draw(target, label="target")
    response = send(clients, probe)
    assert response.status_code < 500, f"{response.status_code} for {probe}"


@pytest.mark.django_db
def test_every_hostile_value_in_every_path_parameter(edge_world: Any) -> None:
    """The whole catalogue in every path parameter of every route, GET and POST, the
    roles in turn: a value that cannot be an id or a reference is a 404, never a 500."""
    from tests.guards.test_access_matrix import EXPECTATIONS, ROLES

    world, clients = edge_world
    probes = []
    for name, route in sorted(probed_routes().items()):
        if route.converters and name not in EXPECTATIONS:
            continue  # test_every_route_is_probed names it
        args = valid_args(name, world)
        for key in args:
            for index, value in enumerate(HOSTILE):
                role = ROLES[index % len(ROLES)]
                for method in ("GET", "POST"):
                    probes.append(Probe(method, role, path_of(route, {**args, key: value})))
    assert len(probes) > 1000
    failed = failures_of(clients, probes)
    assert not failed, "\n".join(failed[:20])


# The calendar's edges with the zones at the edges of the offsets (UTC-12, UTC+14), in
# every date and time a form or a filter takes: the new case's time in its own zone, an
# item's times in its case's zone, the list's day filters (UTC).
EDGE_TIMES = ["9999-12-31T23:59", "9999-12-30T12:00", "0001-01-01T00:00", "0001-01-02T06:00"]
EDGE_ZONES = ["Etc/GMT+12", "Etc/GMT-14", "Pacific/Kiritimati", "UTC"]


@pytest.mark.django_db
def test_the_calendars_edges_in_extreme_zones_are_form_errors(edge_world: Any) -> None:
    from django.urls import reverse

    world, clients = edge_world
    probes = []
    new_case = baseline("cases:new", world)
    for zone in EDGE_ZONES:
        for time in EDGE_TIMES:
            posted = {**new_case, "occurred_at": time, "time_zone": zone}
            probes.append(Probe("POST", "lead", reverse("cases:new"), posted=posted))
    for day in ("9999-12-31", "9999-12-28", "0001-01-01", "0001-01-03"):
        for key in ("occurred_from", "occurred_to"):
            probes.append(Probe("GET", "lead", reverse("cases:list"), [(key, day)]))
    failed = failures_of(clients, probes)
    attach = reverse("evidence:attach", kwargs={"reference": world.incident.reference})
    for zone in EDGE_ZONES:  # an item's times are read in its case's zone
        Incident.objects.filter(pk=world.incident.pk).update(time_zone=zone)
        for time in EDGE_TIMES:
            for key in ("ev-event_at", "ev-collected_at"):
                posted = {**baseline("evidence:attach", world), key: time}
                failed += failures_of(clients, [Probe("POST", "lead", attach, posted=posted)])
    assert not failed, "\n".join(failed)


SWEEP = pytest.mark.skipif(
    not os.environ.get("INQUEST_EDGE_SWEEP"), reason="the whole sweep: INQUEST_EDGE_SWEEP=1"
)


@SWEEP
@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(probed_routes()))
def test_every_hostile_value_in_every_parameter(name: str, edge_world: Any) -> None:
    """Each value of the catalogue alone in each query parameter (GET) and each form
    field (POST) of route NAME, as the lead (anonymous for the password reset)."""
    from tests.guards.test_access_matrix import EXPECTATIONS

    world, clients = edge_world
    path = path_of(probed_routes()[name], valid_args(name, world))
    role = "anonymous" if name.startswith("password_reset") else "lead"
    probes = [Probe("GET", role, path, [(key, value)]) for key in QUERY_PARAMS for value in HOSTILE]
    expect = EXPECTATIONS.get(name)
    if (expect is not None and expect.post is not None) or name in POSTED_FORMS:
        base = baseline(name, world)
        probes += [
            Probe("POST", role, path, posted={**base, key: value})
            for key in posted_names(name, world)
            for value in HOSTILE
        ]
    failed = failures_of(clients, probes)
    assert not failed, "\n".join(failed[:20])
