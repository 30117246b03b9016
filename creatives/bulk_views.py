"""The decision tables' actions: the one shared override dialog, bulk actions with their
progress and Undo, and the agency's decision table across every project a person sees.

Thin like ``creatives.views``: parse, call one service or selector (``creatives.bulk``,
``creatives.selectors``), render. A row's buttons belong to one shared form per page (issue
16: no form per row): with JavaScript they fill the page's one override dialog, whose POST
is ``creative_change`` (the same code as ``creatives.views.creative_override``); without,
they GET ``creative_change``, a page asking for the note and the confirmation.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from creatives.bulk import (
    BULK_MAX_ROWS,
    UNDO_WINDOW,
    BulkRefused,
    bulk_for_user,
    bulk_ids_parse,
    bulk_override_create,
    bulk_override_resume,
    bulk_override_undo,
    bulk_progress,
    creative_override_undo,
)
from creatives.forms import CreativeFilterForm
from creatives.models import AdsContent, BulkOverride, OverrideAudit
from creatives.selectors import (
    attach_figures,
    attach_local_authors,
    attach_trends,
    creative_pools,
    creative_queryset,
    creative_table,
    figure_window_of,
    trend_scale,
)
from creatives.table import export_header, export_line
from creatives.views import (
    CHANGE_OVERRIDE,
    _csv_stream,
    _override_fragment,
    decision_table,
    override_post,
)
from creatives.vocabulary import BULK_ACTION_LABELS, BULK_DONE_LABELS
from layersadmin.htmx import HtmxHttpRequest, local_next, login_required, wants_fragment
from layersadmin.layers import LayersError
from projects.selectors import projects_visible_to

CHANGES = ("include", "exclude", "clear")


# --- the agency's decision table ----------------------------------------------------------------


def _agency_filters(request: HtmxHttpRequest, projects) -> CreativeFilterForm:
    return CreativeFilterForm(request.GET, pools=creative_pools(projects=projects))


@require_GET
@login_required
def agency_creatives(request: HtmxHttpRequest) -> HttpResponse:
    """Every scored creative of every project the person may see, as one decision table: the
    project table's columns (``creatives.table.COLUMNS``) plus the project, its filters,
    sorts, window, minimums and CSV, paged by keyset; bulk actions across projects."""
    table = decision_table(request, scope={"projects": projects_visible_to(request.user)})
    if isinstance(table, HttpResponse):
        return table
    context = {
        "nav": "creatives",
        "agency": True,
        **table.context,
        "list_url": reverse("agency_creatives"),
        "export_url": reverse("agency_creatives_export"),
    }
    if wants_fragment(request):
        response = render(request, f"creatives/creative_list.html#{table.fragment}", context)
        if not table.loading_more:
            push_url(response, table.url)
    else:
        response = render(request, "creatives/agency_creatives.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def agency_creatives_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """The agency table as shown (same filters, window and sort; every page), as CSV: the
    project table's columns after the project's name and id; times in UTC."""
    from datetime import UTC

    projects = projects_visible_to(request.user)
    form = _agency_filters(request, projects)
    rows = creative_queryset(projects=projects, **form.selector_kwargs()).select_related("project")

    def lines():
        for row in rows.iterator(chunk_size=1000):
            yield [row.project.name, row.project.layers_id, *export_line(row, UTC)]

    header = ["project", "projectId", *export_header()]
    response = StreamingHttpResponse(_csv_stream(header, lines()), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="creatives-all-projects.csv"'
    return response


# --- one row's change, from a table's shared form ----------------------------------------------


def _visible_creative(request: HtmxHttpRequest, value: Any) -> AdsContent:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 12:
        raise Http404("No such creative.")
    row = (
        AdsContent.objects.filter(
            pk=int(value), is_gone=False, project__in=projects_visible_to(request.user)
        )
        .select_related("project")
        .first()
    )
    if row is None:
        raise Http404("No such creative.")
    return row


@require_http_methods(["GET", "POST"])
@login_required
def creative_change(request: HtmxHttpRequest) -> HttpResponse:
    """A decision table row's Include / Exclude / Clear.

    POST (the page's one dialog, filled by static/js/decide.js): ``creative`` (its local id)
    and the override form's fields, handled exactly as ``creative_override`` handles them.
    GET (the same buttons without JavaScript: ``?include=<id>`` and ``next``): a page that
    asks for the note, and for an exclusion the confirmation, then sends it."""
    if request.method == "POST":
        row = _visible_creative(request, request.POST.get("creative"))
        return override_post(request, row.project, row)
    if not request.user.has_perm(CHANGE_OVERRIDE):
        raise PermissionDenied("You may not change overrides.")
    action = next((name for name in CHANGES if name in request.GET), "")
    if not action:
        raise Http404("Choose include, exclude or clear.")
    row = _visible_creative(request, request.GET.get(action))
    default_next = reverse("creative_list", kwargs={"project_id": row.project.layers_id})
    return_to = local_next(request, request.GET.get("next", "")[:2000], default_next)
    if row.project.is_archived or (action == "clear" and not row.override):
        return HttpResponseRedirect(row.get_absolute_url())  # that page says why not
    from projects.selectors import project_timezone

    with project_timezone(row.project):
        context = {
            "project": row.project,
            "tab": "creatives",
            "creative": row,
            "action": action,
            "note_value": "",
            "form_token": "",
            "return_to": return_to,
            "fragment_name": "row",
        }
        return render(request, "creatives/override_confirm.html", context)


@require_POST
@login_required
def creative_override_undo_view(request: HtmxHttpRequest, audit_id: int) -> HttpResponse:
    """Undo a single override from its success message (``creatives.bulk``): the row back to
    its previous override and note, within ``UNDO_WINDOW``."""
    audit = OverrideAudit.objects.select_related("project").filter(pk=audit_id).first()
    if audit is None or not projects_visible_to(request.user).filter(pk=audit.project_id).exists():
        raise Http404("No such change.")
    row = _visible_creative(request, str(audit.ads_content_id))
    return_to = local_next(
        request,
        request.POST.get("next", "")[:2000],
        reverse("creative_list", args=[row.project.layers_id]),
    )
    status, done, error = 200, "", ""
    try:
        creative_override_undo(audit=audit, user=request.user)
        done = "Undone: its previous override and note are back."
    except BulkRefused as exc:
        status, error = (403 if exc.code == "NO_PERMISSION" else 409), exc.message
    except ValidationError as exc:
        status, error = 422, " ".join(m for ms in exc.message_dict.values() for m in ms)
    except LayersError as exc:
        status = 502
        error = f"Not undone: {exc.message} (code {exc.code}, request {exc.request_id or 'none'})"
    if not wants_fragment(request):
        (messages.error if error else messages.success)(request, error or done)
        return HttpResponseRedirect(return_to)
    return _override_fragment(
        request,
        row.project,
        row,
        panel=False,
        status=status,
        return_to=return_to,
        done=done,
        error=error,
        flash=True,
    )


# --- bulk actions -------------------------------------------------------------------------------


def _bulk_status_url(bulk: BulkOverride, request: HtmxHttpRequest, **extra: Any) -> str:
    from urllib.parse import urlencode

    params = {
        "window": figure_window_of(request.POST.get("next", "") or request.GET.get("next", ""))
        if request.method == "POST"
        else request.GET.get("window", ""),
        "table": (request.POST if request.method == "POST" else request.GET).get("table", ""),
        **extra,
    }
    query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    url = reverse("bulk_override_status", args=[bulk.pk])
    return f"{url}?{query}" if query else url


@require_POST
@login_required
def bulk_override_create_view(request: HtmxHttpRequest) -> HttpResponse:
    """The bulk bar's Include / Exclude / Clear of the ticked rows, with one note. Stores the
    bulk action and queues its run; htmx gets its progress (which polls), a plain POST the
    progress page. An exclusion asks first (the bar's dialog; without JavaScript, a page)."""
    action = request.POST.get("action", "")
    ids = bulk_ids_parse(request.POST.getlist("ids"))
    note = request.POST.get("note", "")[:4000]
    return_to = local_next(
        request, request.POST.get("next", "")[:2000], reverse("agency_creatives")
    )
    if action == "exclude" and request.POST.get("confirmed") != "exclude" and ids:
        if wants_fragment(request):
            return _bulk_error(
                request, "Exclude asks first: press Exclude selected and confirm.", 422
            )
        rows = list(
            AdsContent.objects.filter(
                pk__in=ids[:BULK_MAX_ROWS], project__in=projects_visible_to(request.user)
            ).select_related("project")
        )
        context = {"rows": rows, "ids": ids, "note_value": note, "return_to": return_to}
        return render(request, "creatives/partials/bulk_confirm.html", context)
    try:
        bulk = bulk_override_create(
            user=request.user, action=action, note=note, ads_content_ids=ids
        )
    except BulkRefused as exc:
        status = {"NO_PERMISSION": 403, "NOT_VISIBLE": 404}.get(exc.code, 422)
        if not wants_fragment(request):
            messages.error(request, exc.message)
            return HttpResponseRedirect(return_to)
        return _bulk_error(request, exc.message, status)
    except ValidationError as exc:
        text = " ".join(m for ms in exc.message_dict.values() for m in ms)
        if not wants_fragment(request):
            messages.error(request, text)
            return HttpResponseRedirect(return_to)
        return _bulk_error(request, text, 422)
    if not wants_fragment(request):
        return HttpResponseRedirect(reverse("bulk_override_status", args=[bulk.pk]))
    return _bulk_fragment(request, bulk, status=202)


def _bulk_error(request: HtmxHttpRequest, text: str, status: int) -> HttpResponse:
    response = render(
        request, "creatives/partials/bulk_status.html", {"error": text}, status=status
    )
    return response


def _bulk_or_404(request: HtmxHttpRequest, bulk_id: int) -> BulkOverride:
    bulk = bulk_for_user(request.user, bulk_id)
    if bulk is None:
        raise Http404("No such bulk action.")
    return bulk


def _bulk_context(request: HtmxHttpRequest, bulk: BulkOverride, seen: int = 0) -> dict[str, Any]:
    """The progress, and the table rows that finished since the page last asked (``seen`` of
    them already came), re-read with their result for an out-of-band swap."""
    progress = bulk_progress(bulk)
    finished = sorted(
        (item for item in progress.items if item.finished_at is not None),
        key=lambda item: (item.finished_at, item.position),
    )
    window = request.GET.get("window") or figure_window_of(request.POST.get("next", ""))
    rows = []
    fresh = finished[seen:] if wants_fragment(request) else []
    if fresh:
        by_pk = {item.ads_content_id: item for item in fresh}
        rows = list(
            AdsContent.objects.filter(pk__in=list(by_pk), is_gone=False).select_related("project")
        )
        attach_figures(rows, window=window)
        attach_local_authors(rows)
        attach_trends(rows, scale=trend_scale(projects=bulk.projects.all()))
        for row in rows:
            row.bulk_item = by_pk[row.pk]
    agency = (request.POST if request.method == "POST" else request.GET).get("table") == "agency"
    return {
        "progress": progress,
        "bulk": bulk,
        "action_label": BULK_ACTION_LABELS.get(bulk.action, bulk.action),
        "done_label": BULK_DONE_LABELS.get(bulk.action, bulk.action),
        "undo_minutes": int(UNDO_WINDOW.total_seconds() // 60),
        "poll_url": _bulk_status_url(bulk, request, seen=len(finished)),
        "rows": rows,
        "table": creative_table(projects=bulk.projects.all(), window=window) if rows else None,
        "can_override": request.user.has_perm(CHANGE_OVERRIDE),
        "bulk_pick": True,
        "agency": agency,
        "return_to": request.GET.get("next", ""),
    }


def _bulk_fragment(request: HtmxHttpRequest, bulk: BulkOverride, *, status: int = 200):
    seen = request.GET.get("seen", "0")
    context = _bulk_context(request, bulk, int(seen) if seen.isdigit() and len(seen) < 7 else 0)
    response = render(request, "creatives/partials/bulk_status.html", context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def bulk_override_status(request: HtmxHttpRequest, bulk_id: int) -> HttpResponse:
    """A bulk action's progress and per-row results: the fragment the table polls every
    second while rows are being sent (with those rows, swapped in place), or a page of its
    own (which reloads itself while it runs, without JavaScript too)."""
    bulk = _bulk_or_404(request, bulk_id)
    if wants_fragment(request):
        return _bulk_fragment(request, bulk)
    context = _bulk_context(request, bulk)
    context["nav"] = "creatives"
    response = render(request, "creatives/bulk_detail.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_POST
@login_required
def bulk_override_undo_view(request: HtmxHttpRequest, bulk_id: int) -> HttpResponse:
    """Undo a finished bulk action (its Undo window open): a new bulk action of kind undo."""
    bulk = _bulk_or_404(request, bulk_id)
    try:
        undo = bulk_override_undo(bulk=bulk, user=request.user)
    except BulkRefused as exc:
        if not wants_fragment(request):
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("bulk_override_status", args=[bulk.pk]))
        return _bulk_error(request, exc.message, 403 if exc.code == "NO_PERMISSION" else 409)
    if not wants_fragment(request):
        return HttpResponseRedirect(reverse("bulk_override_status", args=[undo.pk]))
    return _bulk_fragment(request, undo, status=202)


@require_POST
@login_required
def bulk_override_resume_view(request: HtmxHttpRequest, bulk_id: int) -> HttpResponse:
    """Queue a stopped or stalled bulk action again; its pending rows keep their keys."""
    bulk = _bulk_or_404(request, bulk_id)
    try:
        bulk_override_resume(bulk=bulk, user=request.user)
    except BulkRefused as exc:
        if not wants_fragment(request):
            messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("bulk_override_status", args=[bulk.pk]))
        return _bulk_error(request, exc.message, 409)
    bulk.refresh_from_db()
    if not wants_fragment(request):
        return HttpResponseRedirect(reverse("bulk_override_status", args=[bulk.pk]))
    return _bulk_fragment(request, bulk, status=202)
