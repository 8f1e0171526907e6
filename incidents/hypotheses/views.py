"""Hypothesis and matrix controls of the case page.

Mounted under ``cases/<reference>/hypotheses/``. Each view fetches the case
with the Need its write requires (``get_case_for_user``, or one read of the
object with its case and the user's role, checked by ``check_case_access``),
calls one model method, and answers with the refreshed region (HTMX) or a
redirect to the case page (plain form). A model's refusal comes back next to
the fields (``apply_change``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from incidents.accounts.access import Need, check_case_access, get_case_for_user, role_of_user
from incidents.cases.views.case import (
    after_invalid,
    after_write,
    case_hypotheses_for_user,
    case_url,
    hypotheses_of,
    render_case,
)
from incidents.evidence.models import EvidenceItem
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses.forms import (
    CellForm,
    ConfidenceForm,
    HypothesisForm,
    MoveForm,
    apply_change,
    apply_model_errors,
)
from incidents.hypotheses.models import Assessment, Hypothesis
from incidents.params import INT_MAX, parse_count, parse_id


@require_POST
@login_required
def add(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    access = get_case_for_user(request, reference, Need.WRITE)
    form = HypothesisForm(request.POST)
    if form.is_valid():
        try:
            Hypothesis.propose(access.incident, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_model_errors(form, exc)
        else:
            return after_write(
                request,
                access,
                "hypotheses",
                ("matrix-changed", "timeline-changed", "case-changed"),
                "Hypothesis added.",
            )
    return after_invalid(request, access, "hypotheses", bound={"hypothesis": form})


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def move(request: HtmxHttpRequest, reference: str, pk: int) -> HttpResponse:
    """Move a hypothesis to a legal next state, with a rationale and citations.

    GET opens the move form, which the page does not carry for every card:
    with HTMX the form alone (``HX-Target: cite-<pk>``: its list of sources to
    cite alone), without it the page with this card's move form open and
    its sources listed.
    """
    access, hypotheses, hypothesis = case_hypotheses_for_user(request, reference, pk, Need.WRITE)
    if request.method == "GET":
        if not request.htmx:
            return render_case(request, access, citing=pk, hypotheses=hypotheses)
        if request.htmx.target == f"cite-{pk}":
            return render_case(
                request, access, "move_citations_alone", citing=pk, hypotheses=hypotheses
            )
        return render_case(request, access, "move_form_alone", card=pk, hypotheses=hypotheses)
    # Only the items the form cites are loaded (not every source of the case);
    # an id of another case's item is then not a valid choice.
    posted = request.POST.getlist(f"move-{pk}-cited_evidence")
    wanted_ids = [i for i in map(parse_id, posted) if i is not None]  # ids, ASCII digits
    evidence = (
        list(
            access.incident.evidence.filter(pk__in=wanted_ids).only(
                "id", "title", "reliability", "credibility"
            )
        )
        if wanted_ids
        else []
    )
    form = MoveForm(
        request.POST, hypothesis=hypothesis, can_lead=access.can_lead, evidence=evidence
    )
    if form.is_valid():
        wanted = set(form.cleaned_data["cited_evidence"])
        cited = [item for item in evidence if item.pk in wanted]
        if apply_change(
            form,
            hypothesis.move_to,
            form.cleaned_data["status"],
            by=request.user,
            rationale=form.cleaned_data["rationale"],
            cited_evidence=cited,
            expected_version=form.cleaned_data.get("version"),
        ):
            # Its card alone: a move changes no score, rank or other card, nor
            # this card's figures (the page keeps them: ``moved``).
            return after_write(
                request,
                access,
                "hypothesis_card_alone",
                ("timeline-changed", "case-changed"),
                f"“{hypothesis.statement}” is now {hypothesis.get_status_display().lower()}.",
                card=pk,
                moved=True,
                hypotheses=hypotheses,
            )
    elif "status" in form.errors:
        # The choice list only holds legal moves; say which ones in words.
        allowed = ", ".join(label.lower() for _, label in form.fields["status"].choices)  # type: ignore[attr-defined]
        form.errors["status"] = form.error_class(
            [
                f"A {hypothesis.get_status_display().lower()} hypothesis cannot make that move"
                + (f"; it can go to: {allowed}." if allowed else ".")
            ]
        )
    return after_invalid(
        request,
        access,
        "hypothesis_card_alone",
        bound={("move", pk): form},
        card=pk,
        hypotheses=hypotheses,
    )


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def confidence(request: HtmxHttpRequest, reference: str, pk: int) -> HttpResponse:
    """State a new confidence band for a hypothesis, with a reason.

    GET opens the form, which the page does not carry for every card: with
    HTMX the form alone, without it the page with this card's form open.
    """
    access, hypotheses, hypothesis = case_hypotheses_for_user(request, reference, pk, Need.WRITE)
    if request.method == "GET":
        if request.htmx:
            return render_case(
                request, access, "confidence_form_alone", card=pk, hypotheses=hypotheses
            )
        return render_case(request, access, opening=("confidence", pk), hypotheses=hypotheses)
    form = ConfidenceForm(request.POST, hypothesis=hypothesis)
    if form.is_valid() and apply_change(
        form,
        hypothesis.set_confidence,
        form.cleaned_data["confidence"],
        by=request.user,
        reason=form.cleaned_data["reason"],
        expected_version=form.cleaned_data.get("version"),
    ):
        return after_write(
            request,
            access,
            "hypothesis_card_alone",
            ("timeline-changed",),
            "Confidence updated.",
            card=pk,
            hypotheses=hypotheses,
        )
    return after_invalid(
        request,
        access,
        "hypothesis_card_alone",
        bound={("confidence", pk): form},
        card=pk,
        hypotheses=hypotheses,
    )


def item_with_case(item: int, reference: str, user: Any) -> tuple[EvidenceItem, int, str | None]:
    """The item ITEM of the case REFERENCE with its case and the case's lead
    (``item.incident``), the number of the case's items (the matrix foot's
    "n of N shown") and USER's role on the case, in one read; without its
    text, metadata or search vector, which the answer does not show. 404 if
    there is no such item."""
    case_items = (
        EvidenceItem.objects.filter(incident=OuterRef("incident"))
        .order_by()
        .values("incident")
        .annotate(n=Count("id"))
        .values("n")
    )
    found = (
        EvidenceItem.objects.filter(pk=item, incident__reference=reference)
        .select_related("incident__lead")
        .defer("text_body", "extracted_metadata", "search_vector", "incident__search_vector")
        .annotate(case_items=Subquery(case_items), role_of_user=role_of_user(user, "incident_id"))
        .order_by()
        .first()
    )
    if found is None:
        raise Http404("No such item.")
    return found, found.case_items, found.role_of_user  # type: ignore[attr-defined]


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def cell(
    request: HtmxHttpRequest, reference: str, evidence_id: int, hypothesis_id: int
) -> HttpResponse:
    """One matrix cell: GET opens its editor, POST rates it (``Assessment.rate``).

    With HTMX, GET answers the editor alone (``?cancel=1``: the plain cell
    again) and POST answers the cell's row with the score and rank rows and
    the explanation out of band (the whole matrix when it is sorted by
    diagnosticity), so scores, ranks and diagnosticity change at once;
    ``hypotheses-changed`` refreshes the cards.
    Without JavaScript, GET shows the page with this cell's editor open and
    POST redirects back to the matrix.
    """
    need = Need.WRITE if request.method == "POST" or not request.GET.get("cancel") else Need.READ
    item, case_items, role = item_with_case(evidence_id, reference, request.user)
    access = check_case_access(request, item.incident, need, role=role)
    hypotheses, hypothesis = hypotheses_of(access.incident, hypothesis_id)
    known: dict[str, Any] = {"hypotheses": hypotheses, "item_count": case_items}
    pair = (item.pk, hypothesis.pk)
    focus = f"cell-{item.pk}-{hypothesis.pk}"
    if request.method == "GET":
        if not request.htmx:
            return render_case(request, access, editing=pair, **known)
        region = "matrix_cell" if request.GET.get("cancel") else "matrix_cell_form"
        return render_case(request, access, region, editing=pair, **known)
    form = CellForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if apply_change(
            form,
            Assessment.rate,
            item,
            hypothesis,
            by=request.user,
            rating=data["rating"],
            relevance=data["relevance"],
            reason=data["reason"],
            expected_version=data.get("version"),
        ):
            if request.htmx:
                # Its row, with the scores and the explanation out of band; the
                # whole matrix when sorted by diagnosticity (the order may change).
                if request.GET.get("sort") == "diagnosticity":
                    response = render_case(request, access, "matrix", focus=focus, **known)
                else:
                    response = render_case(
                        request,
                        access,
                        "matrix_row_saved",
                        focus=focus,
                        saved=item.pk,
                        saved_item=item,
                        **known,
                    )
                trigger_client_event(response, "hypotheses-changed")
                trigger_client_event(response, "scores-changed")  # an open explanation reloads
                return response
            sort = request.POST.get("sort", "")
            rows = request.POST.get("rows", "")
            params = ["sort=diagnosticity"] if sort == "diagnosticity" else []
            count = "all" if rows == "all" else parse_count(rows, maximum=INT_MAX)
            if count:
                params.append(f"rows={count}")
            query = "&".join(params)
            return HttpResponseRedirect(case_url(access.incident, focus, query))
    if request.htmx:
        # The editor again, with its errors, in its own cell (not over the matrix).
        response = render_case(
            request,
            access,
            "matrix_cell_form",
            status=409 if getattr(form, "conflict", False) else 200,
            editing=pair,
            bound={"cell": form},
            **known,
        )
        return reswap(retarget(response, f"#td-{item.pk}-{hypothesis.pk}"), "innerHTML")
    return after_invalid(request, access, "matrix", editing=pair, bound={"cell": form}, **known)
