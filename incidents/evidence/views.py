"""Evidence views.

``attach`` (the case page's inline form) comes first; the evidence item
page, downloads, previews, custody and annotation views follow below it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from incidents.accounts.access import (
    USER_FIELDS,
    CaseAccess,
    Need,
    case_columns,
    case_of,
    check_case_access,
    get_case_for_user,
    role_of_user,
)
from incidents.audit.versioning import is_incomplete, required_version
from incidents.cases.models import Tag
from incidents.cases.views import page_reads
from incidents.cases.views.case import after_invalid, after_write
from incidents.compiled import compiled
from incidents.evidence import annotations as anno
from incidents.evidence import files
from incidents.evidence.crosscheck import verify_item
from incidents.evidence.forms import AttachForm
from incidents.evidence.item_forms import (
    AnnotationEditForm,
    AnnotationForm,
    TextForm,
    TransferForm,
)
from incidents.evidence.models import Annotation, CustodyEntry, EvidenceItem
from incidents.htmx import HtmxHttpRequest
from incidents.hypotheses.forms import apply_model_errors
from incidents.params import is_clean_text, parse_id


@require_POST
@login_required
def attach(request: HtmxHttpRequest, reference: str) -> HttpResponse:
    """Attach a URL, a file or a pasted text to the case (``EvidenceItem.attach``).

    Times in the form are read in the case's local time zone.
    """
    access = get_case_for_user(request, reference, Need.WRITE)
    incident = access.incident
    form = AttachForm(request.POST, request.FILES)
    with timezone.override(incident.zone):
        valid = form.is_valid()
    if valid:
        try:
            item = EvidenceItem.attach(
                incident, by=request.user, upload=form.upload, **form.attach_fields()
            )
        except ValidationError as exc:
            apply_model_errors(form, exc)
        else:
            return after_write(
                request,
                access,
                "evidence",
                # The hypotheses' move forms list the items that can be cited.
                ("matrix-changed", "timeline-changed", "hypotheses-changed"),
                f"Attached “{item.title}” ({item.grade})."
                + (
                    f" The same file is already attached as “{item.duplicate_of}”."
                    if item.duplicate_of_id
                    else ""
                ),
            )
    return after_invalid(request, access, "evidence", bound={"attach": form})


# -- Evidence item page and its helpers ------------------------------------------

SANDBOX_CSP = "default-src 'none'; sandbox"


# The item's columns its page and writes read: all but its search vector.
_ITEM_FIELDS = tuple(
    f.attname for f in EvidenceItem._meta.concrete_fields if f.name != "search_vector"
)


@compiled(tuples=True)
def _item_with_case(pk: int, user: int) -> QuerySet[Any]:
    """The item PK, who collected it, the title of the item it repeats, and its
    case with the lead and the role of the user USER (``case_columns``)."""
    return (
        EvidenceItem.objects.filter(pk=pk)
        .annotate(role_of_user=role_of_user(user, "incident_id"))
        .order_by()
        .values_list(
            *_ITEM_FIELDS,
            *(f"collected_by__{name}" for name in USER_FIELDS),
            "duplicate_of__title",
            *case_columns("incident__"),
        )
    )


def _item(request: HttpRequest, pk: int, need: Need = Need.READ) -> tuple[EvidenceItem, CaseAccess]:
    """The item PK, if the user may see its case (404), with the role NEED (403):
    one compiled read (the ORM spent 2 ms building it, most of an annotation's
    write), with who collected it and the item it repeats (its id and title)."""
    if not request.user.is_authenticated:
        raise Http404("Not found.")
    rows = _item_with_case(pk, request.user.pk)
    if not rows:
        raise Http404("Not found.")
    row, items, users = rows[0], len(_ITEM_FIELDS), len(_ITEM_FIELDS) + len(USER_FIELDS)
    item = EvidenceItem.from_db(DEFAULT_DB_ALIAS, _ITEM_FIELDS, row[:items])
    item.collected_by = get_user_model().from_db(DEFAULT_DB_ALIAS, USER_FIELDS, row[items:users])
    if item.duplicate_of_id is not None:
        item.duplicate_of = EvidenceItem.from_db(
            DEFAULT_DB_ALIAS, ("id", "title"), (item.duplicate_of_id, row[users])
        )
    item.incident, role = case_of(row)
    access = check_case_access(request, item.incident, need, role=role)
    return item, access


def _annotations(item: EvidenceItem) -> QuerySet[Annotation]:
    return (
        item.annotations.select_related("author", "hypothesis")
        .prefetch_related(_tags_in_order())
        .order_by("position_start", "id")
    )


def _tags_in_order() -> Prefetch:
    return Prefetch("tags", queryset=Tag.objects.order_by("name"))


@dataclass(frozen=True, slots=True)
class AnnotationRow:
    """One annotation of the panel as ``templates/evidence/detail.jinja`` draws
    it (``entry``, ``edit_form``): whether the viewer may edit it (its author,
    a writer), and its edit form when that is drawn open (asked for, or sent
    back with errors; otherwise it loads when its panel is opened)."""

    annotation: Annotation
    can_edit: bool
    edit_form: AnnotationEditForm | None = None


def _filters(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "").strip()[:100] for key in ("tag", "hypothesis", "author")}


def _filtered(items: list[Annotation], filters: dict[str, str]) -> list[Annotation]:
    out = items
    if filters["tag"]:
        out = [a for a in out if any(t.name == filters["tag"] for t in a.tags.all())]
    if filters["hypothesis"]:
        out = [a for a in out if str(a.hypothesis_id) == filters["hypothesis"]]
    if filters["author"]:
        out = [a for a in out if a.author.get_username() == filters["author"]]
    return out


def _context(
    request: HttpRequest, item: EvidenceItem, access: CaseAccess, **bound: Any
) -> dict[str, Any]:
    hypotheses = page_reads.hypotheses(item.incident)
    every = list(_annotations(item))
    live = [a for a in every if not a.is_deleted]
    deleted = [a for a in every if a.is_deleted]
    text = item.annotation_text
    filters = _filters(request)
    # Edit forms load when their panel is opened: only the one asked for (or
    # sent back with errors) is drawn with the page.
    bound_edit_pk, bound_edit = bound.get("edit") or (None, None)
    rows = [
        AnnotationRow(
            a,
            can_edit=access.can_write and a.author_id == request.user.pk,
            edit_form=bound_edit if a.pk == bound_edit_pk else None,
        )
        for a in _filtered(live, filters)
    ]
    image = (item.extracted_metadata or {}).get("image") or {}
    return {
        "access": access,
        "incident": item.incident,
        "item": item,
        "custody": item.custody.select_related("actor").order_by("id"),
        "highlighted": anno.render_highlights(text, [a for a in live if not a.is_orphaned]),
        "has_text": bool(text.strip()),
        "annotations": rows,
        "annotation_total": len(live),
        "text_annotations": [a for a in live if not a.region],
        "region_annotations": [a for a in live if a.region],
        "orphaned": [a for a in live if a.is_orphaned],
        "deleted": deleted,
        "filters": filters,
        "tag_names": sorted({t.name for a in live for t in a.tags.all()}),
        "authors": sorted({a.author.get_username() for a in live}),
        "hypotheses": hypotheses,
        "image": image,
        "metadata_json": json.dumps(
            {k: v for k, v in (item.extracted_metadata or {}).items() if k != "suggested"},
            indent=2,
            ensure_ascii=False,
            sort_keys=True,
        ),
        "annotation_form": bound.get("annotation")
        or AnnotationForm(hypotheses=hypotheses, prefix="new"),
        "transfer_form": bound.get("transfer") or TransferForm(),
        "text_form": bound.get("text") or TextForm(initial={"text_body": item.text_body}),
        "text_preview": item.file and (files.is_textual(item.file_type) or item.is_markup),
    }


def _page(
    request: HttpRequest,
    item: EvidenceItem,
    access: CaseAccess,
    region: str,
    *,
    status: int = 200,
    events: tuple[str, ...] = (),
    oob: bool = False,
    **bound: Any,
) -> HttpResponse:
    template = "evidence/detail.jinja"
    if request.htmx:  # type: ignore[attr-defined]
        template += f"#{region}"
    context = _context(request, item, access, **bound)
    context["oob"] = oob
    # Times read in the case's local time zone, as on the case page.
    with timezone.override(item.incident.zone):
        response = render(request, template, context, status=status)
    for event in events:
        trigger_client_event(response, event)
    return response


def _after_write(
    request: HttpRequest,
    item: EvidenceItem,
    access: CaseAccess,
    region: str,
    message: str,
    events: tuple[str, ...] = (),
) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        return _page(request, item, access, region, events=events)
    messages.success(request, message)
    return redirect(f"{item.get_absolute_url()}#{region}")


def _after_invalid(
    request: HttpRequest, item: EvidenceItem, access: CaseAccess, region: str, **bound: Any
) -> HttpResponse:
    # htmx does not swap 4xx answers by default: the region comes back with 200.
    status = 200 if request.htmx else 422  # type: ignore[attr-defined]
    status = 400 if is_incomplete(*bound.values()) else status  # a field or the version left out
    return _page(request, item, access, region, status=status, **bound)


def _apply(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The evidence item page: metadata, grade, custody, verification, text and annotations."""
    item, access = _item(request, pk)
    region = request.GET.get("region", "panel") if request.htmx else ""  # type: ignore[attr-defined]
    if region not in {"panel", "annotations", "custody", "metadata"}:
        region = "panel"
    return _page(request, item, access, region)


@require_GET
@login_required
def download(request: HttpRequest, pk: int) -> HttpResponse | FileResponse:
    """The file as an attachment, after its hash is checked; the download goes on record."""
    item, _access = _item(request, pk)
    if not item.file:
        raise Http404("This item has no file.")
    checked = verify_item(
        item, by=request.user, reason="Checked before download.", downloading=True
    )
    if checked.problems:  # the file against its hash, custody chain and audit trail
        response = render(
            request,
            "evidence/refused.jinja",
            {"item": item, "incident": item.incident, "problems": item.last_problems},
            status=409,
        )
        return response
    CustodyEntry.record(
        item, action=CustodyEntry.Action.DOWNLOADED, by=request.user, reason="Downloaded."
    )
    content_type = (
        "application/octet-stream" if item.is_markup or not item.file_type else item.file_type
    )
    served = FileResponse(
        item.file.open("rb"),
        as_attachment=True,
        filename=item.display_name,
        content_type=content_type,
    )
    served["X-Content-Type-Options"] = "nosniff"
    served["Content-Security-Policy"] = SANDBOX_CSP
    served["Cache-Control"] = "private, no-store"
    return served


@require_GET
@login_required
def thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    """A re-encoded PNG of an image (never the uploaded bytes, never SVG)."""
    item, _access = _item(request, pk)
    if not item.is_image:
        raise Http404("This item has no image to preview.")
    try:
        png = files.thumbnail_png(item.file.storage, str(item.file.name))
    except Exception as exc:  # noqa: BLE001 (a broken image is a 404, not a 500)
        raise Http404("This image cannot be previewed.") from exc
    response = HttpResponse(png, content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@login_required
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    item, access = _item(request, pk, Need.WRITE)
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            item.transfer(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply(form, exc)
        else:
            return _after_write(
                request,
                item,
                access,
                "custody",
                f"Transfer to {form.cleaned_data['recipient']} recorded.",
                ("custody-changed",),
            )
    return _after_invalid(request, item, access, "custody", transfer=form)


@require_POST
@login_required
def verify(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-hash the file and check the custody chain now."""
    item, access = _item(request, pk, Need.WRITE)
    ok = not verify_item(item, by=request.user, reason="Checked on request.").problems
    message = "The file and its custody chain check out." if ok else "Verification failed."
    return _after_write(request, item, access, "custody", message, ("custody-changed",))


@require_POST
@login_required
def use_metadata(request: HttpRequest, pk: int) -> HttpResponse:
    """The investigator confirms an extracted event time or place."""
    item, access = _item(request, pk, Need.WRITE)
    which = request.POST.get("use", "")
    try:
        item.use_suggestion(which)
    except ValidationError as exc:
        if request.htmx:  # type: ignore[attr-defined]
            return _page(request, item, access, "metadata")
        messages.error(request, exc.messages[0])
        return redirect(item.get_absolute_url())
    label = "event time" if which == "event_at" else "event place"
    return _after_write(request, item, access, "metadata", f"The {label} was set from the file.")


@require_POST
@login_required
def edit_text(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the text body; annotations re-anchor, those that cannot are shown orphaned."""
    item, access = _item(request, pk, Need.WRITE)
    form = TextForm(request.POST)
    if form.is_valid():
        try:
            orphaned = item.set_text_body(
                form.cleaned_data["text_body"],
                by=request.user,
                expected_version=required_version(request),
            )
        except ValidationError as exc:
            _apply(form, exc)
        else:
            message = "Text saved."
            if orphaned:
                message += f" {len(orphaned)} annotation(s) lost their passage: shown as orphaned."
            return _after_write(
                request, item, access, "annotations", message, ("annotations-changed",)
            )
    return _after_invalid(request, item, access, "annotations", text=form)


@require_POST
@login_required
def annotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Add an annotation to a passage (re-validated against the stored text) or an image region."""
    item, access = _item(request, pk, Need.WRITE)
    hypotheses = page_reads.hypotheses(item.incident)
    form = AnnotationForm(request.POST, hypotheses=hypotheses, prefix="new")
    if form.is_valid():
        data = form.cleaned_data
        try:
            annotation = Annotation.create_for(
                item,
                by=request.user,
                body=data["body"],
                tags=form.tag_names,
                stance=data["stance"] or "",
                hypothesis=data["hypothesis"],
                exact=data["exact"],
                prefix=data["quote_prefix"],
                suffix=data["quote_suffix"],
                start=data["start"],
                end=data["end"],
                region=data["region"],
            )
        except ValidationError as exc:
            _apply(form, exc)
        else:
            if request.htmx:  # type: ignore[attr-defined]
                return _annotation_added(request, item, access, annotation, hypotheses)
            return _after_write(
                request, item, access, "annotations", "Annotation added.", ("annotations-changed",)
            )
    if request.htmx:  # type: ignore[attr-defined]
        # The popover's form alone, with its errors (htmx swaps it in place).
        context = {"access": access, "item": item, "annotation_form": form}
        return render(request, "evidence/detail.jinja#new_annotation_form", context)
    return _after_invalid(request, item, access, "annotations", annotation=form)


def _edit_form(annotation: Annotation, hypotheses: list[Any]) -> AnnotationEditForm:
    return AnnotationEditForm(
        initial={
            "body": annotation.body,
            "tags": ", ".join(t.name for t in annotation.tags.all()),
            "stance": annotation.stance,
            "hypothesis": annotation.hypothesis_id,
        },
        hypotheses=hypotheses,
        prefix=f"a{annotation.pk}",
    )


# What the answer to a new annotation needs of the item's others: where each
# is. In the model's order of fields, as ``from_db`` reads a row's values.
_PLACED_FIELDS = tuple(
    f.attname
    for f in Annotation._meta.concrete_fields
    if f.attname in {"id", "position_start", "position_end", "region", "anchor_state", "body"}
)


@compiled(tuples=True)
def _placed(item: int) -> QuerySet[Any]:
    """The item's live annotations in the panel's order, their places only."""
    return (
        Annotation.objects.filter(item=item, deleted_at__isnull=True)
        .order_by("position_start", "id")
        .values_list(*_PLACED_FIELDS)
    )


def _annotation_added(
    request: HttpRequest,
    item: EvidenceItem,
    access: CaseAccess,
    annotation: Annotation,
    hypotheses: list[Any],
) -> HttpResponse:
    """The HTMX answer to a new annotation: what changed, not the whole panel.

    A fresh (closed) form, the text with its highlights (or the image's
    regions), the new entry placed where it belongs in the panel's order, and
    the count. The item's first annotation brings the whole (small) panel.
    """
    live = [Annotation.from_db(DEFAULT_DB_ALIAS, _PLACED_FIELDS, row) for row in _placed(item.pk)]
    if len(live) <= 1:
        response = _page(request, item, access, "annotation_added", oob=True)
    else:
        # The annotation just saved, with its author and hypothesis already on it;
        # only its tags are read back (in name order, as the panel lists them).
        prefetch_related_objects([annotation], _tags_in_order())
        added = AnnotationRow(annotation, can_edit=True)  # its author, a writer; form on opening
        order = [a.pk for a in live]
        at = order.index(annotation.pk) if annotation.pk in order else len(order) - 1
        text = item.annotation_text
        context = {
            "access": access,
            "item": item,
            "oob": True,
            "added": added,
            "insert_before": order[at + 1] if at + 1 < len(order) else None,
            "append": at + 1 >= len(order),
            "annotation_total": len(live),
            "has_text": bool(text.strip()),
            "highlighted": anno.render_highlights(text, [a for a in live if not a.is_orphaned]),
            "region_annotations": [a for a in live if a.region],
            "image": (item.extracted_metadata or {}).get("image") or {},
        }
        with timezone.override(item.incident.zone):
            response = render(request, "evidence/detail.jinja#annotation_added", context)
        # Only the out-of-band parts change the page: the popover's form stays
        # where it is, and annotate.js empties and closes it.
        response["HX-Reswap"] = "none"
    trigger_client_event(response, "annotations-changed")
    return response


def _own_annotation(
    request: HttpRequest, pk: int, annotation_pk: int
) -> tuple[EvidenceItem, CaseAccess, Annotation]:
    item, access = _item(request, pk, Need.WRITE)
    annotation = get_object_or_404(item.annotations, pk=annotation_pk)
    return item, access, annotation


@require_http_methods(["GET", "POST"])
@login_required
@vary_on_headers("HX-Request")
def annotation_edit(request: HttpRequest, pk: int, annotation_pk: int) -> HttpResponse:
    """Change one's own annotation. GET opens the form (the page does not draw
    one per annotation): with HTMX the form alone, without it the page with
    this entry's form open."""
    item, access, annotation = _own_annotation(request, pk, annotation_pk)
    hypotheses = page_reads.hypotheses(item.incident)
    annotation.check_editable_by(request.user)  # before reading a POST: 403 comes first
    if request.method == "GET":
        form = _edit_form(annotation, hypotheses)
        if request.htmx:  # type: ignore[attr-defined]
            row = AnnotationRow(annotation, can_edit=True, edit_form=form)
            return render(
                request,
                "evidence/detail.jinja#annotation_edit_form",
                {"access": access, "item": item, "row": row},
            )
        return _page(request, item, access, "annotations", edit=(annotation.pk, form))
    form = AnnotationEditForm(request.POST, hypotheses=hypotheses, prefix=f"a{annotation.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            annotation.edit(
                by=request.user,
                body=data["body"],
                tags=form.tag_names,
                stance=data["stance"] or "",
                hypothesis=data["hypothesis"],
                expected_version=required_version(request),
            )
        except ValidationError as exc:
            _apply(form, exc)
        else:
            if request.htmx:  # type: ignore[attr-defined]
                return _annotation_entry(request, item, access, annotation.pk, hypotheses)
            return _after_write(
                request, item, access, "annotations", "Annotation saved.", ("annotations-changed",)
            )
    if request.htmx:  # type: ignore[attr-defined]
        entry = _annotation_entry(request, item, access, annotation.pk, hypotheses, bound=form)
        entry.status_code = 400 if is_incomplete(form) else entry.status_code
        return entry
    return _after_invalid(request, item, access, "annotations", edit=(annotation.pk, form))


def _annotation_entry(
    request: HttpRequest,
    item: EvidenceItem,
    access: CaseAccess,
    annotation_pk: int,
    hypotheses: list[Any],
    bound: AnnotationEditForm | None = None,
) -> HttpResponse:
    """The HTMX answer to an edit: that entry alone (its passage does not move)."""
    # Its author, a writer; saved, its form is closed and loads when opened.
    row = AnnotationRow(_annotations(item).get(pk=annotation_pk), can_edit=True, edit_form=bound)
    with timezone.override(item.incident.zone):
        response = render(
            request,
            "evidence/detail.jinja#annotation_entry",
            {"access": access, "item": item, "row": row},
        )
    if bound is None:
        trigger_client_event(response, "annotations-changed")
    return response


@require_POST
@login_required
def annotation_delete(request: HttpRequest, pk: int, annotation_pk: int) -> HttpResponse:
    item, access, annotation = _own_annotation(request, pk, annotation_pk)
    annotation.soft_delete(by=request.user)
    return _after_write(
        request,
        item,
        access,
        "annotations",
        "Annotation deleted (it stays on record).",
        ("annotations-changed",),
    )


@require_GET
@login_required
def annotations_jsonld(request: HttpRequest, pk: int) -> HttpResponse:
    """The item's annotations as a W3C Web Annotation ``AnnotationCollection``
    (its first page embedded), or with ``?page=<n>`` that ``AnnotationPage``."""
    item, _access = _item(request, pk)
    document, exported = anno.as_collection(
        item,
        _annotations(item).filter(deleted_at__isnull=True),
        page=anno.page_number(request.GET.get("page")),
        absolute=request.build_absolute_uri,
        collection_url=request.build_absolute_uri(reverse("evidence:jsonld", args=[item.pk])),
    )
    CustodyEntry.record(
        item,
        action=CustodyEntry.Action.EXPORTED,
        by=request.user,
        reason=f"{exported} annotation(s) exported as W3C Web Annotation JSON-LD.",
    )
    response = HttpResponse(
        json.dumps(document, indent=2, ensure_ascii=False), content_type=anno.ANNO_PROFILE
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def case_annotations(request: HttpRequest, reference: str) -> HttpResponse:
    """Every live annotation of a case, filterable by hypothesis, stance, tag and author."""
    access = get_case_for_user(request, reference)
    incident = access.incident
    rows = (
        Annotation.objects.live()
        .filter(item__incident=incident)
        .select_related("author", "hypothesis", "item")
        .prefetch_related("tags")
        .order_by("item__created_at", "item_id", "position_start", "id")
    )
    filters = {k: request.GET.get(k, "").strip()[:100] for k in ("hypothesis", "stance", "tag")}
    hypothesis_id = parse_id(filters["hypothesis"])  # an id of ASCII digits, else no filter
    if hypothesis_id is not None:
        rows = rows.filter(hypothesis_id=hypothesis_id)
    if filters["stance"] in Annotation.Stance.values and filters["stance"]:
        rows = rows.filter(stance=filters["stance"])
    if filters["tag"]:  # a name with a NUL names no tag (nor could PostgreSQL compare it)
        tag = filters["tag"]
        rows = rows.filter(tags__name=tag) if is_clean_text(tag) else rows.none()
    hypotheses = list(incident.hypotheses.order_by("created_at", "id"))
    counts = Annotation.objects.stance_counts(incident)
    for h in hypotheses:
        found = counts.get(h.pk, {})
        h.stance_supports = found.get("supports", 0)  # type: ignore[attr-defined]
        h.stance_contradicts = found.get("contradicts", 0)  # type: ignore[attr-defined]
    author = request.GET.get("author", "").strip()[:150]
    if author:
        users = get_user_model().objects.filter(username=author)
        rows = rows.filter(author__in=users) if is_clean_text(author) else rows.none()
    with timezone.override(incident.zone):
        return render(
            request,
            "evidence/case_annotations.jinja",
            {
                "access": access,
                "incident": incident,
                "rows": rows,
                "filters": filters,
                "hypotheses": hypotheses,
            },
        )
