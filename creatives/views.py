"""Dashboard views for a project's creatives: gallery, scored creatives, leaderboards, overrides.

Thin on purpose: parse input with a form, call one selector or service, render. Reads come
from the local cache (selectors); the two writes (an override, a live leaderboard refresh) go
through the services, which talk to the Layers API and store what it answered.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from creatives.bulk import override_undo_offer
from creatives.demand import leaderboard_agency_show, leaderboard_refresh_now, leaderboard_show
from creatives.forms import (
    SOURCE_TYPES,
    AgencyLeaderboardForm,
    CreativeFilterForm,
    GalleryFilterForm,
    LeaderboardForm,
    OverrideForm,
)
from creatives.models import AdsContent
from creatives.selectors import (
    WATCHLISTS,
    SourceMixes,
    attach_figures,
    container_choices,
    container_page,
    creative_get,
    creative_leaderboard_appearances,
    creative_page,
    creative_pools,
    creative_queryset,
    creative_row,
    creative_table,
    figure_window_of,
    leaderboard_agency,
    leaderboard_get,
    leaderboard_query,
    override_history,
    project_leaderboards,
    project_recent_overrides,
    project_stats,
    project_top_creatives,
    score_history,
    watchlist_counts,
)
from creatives.services import (
    OverrideInProgress,
    OverrideRefused,
    creative_override_set,
    leaderboard_filters,
)
from creatives.table import (
    AGENCY_BOARD_COLUMNS,
    PROJECT_BOARD_COLUMNS,
    BoardColumn,
    board_export_header,
    board_export_line,
    export_header,
    export_line,
    table_headers,
)
from creatives.vocabulary import BASELINES, DEFAULT_BASELINE, IDS_CHIP, IDS_CHIP_REMOVE
from layersadmin.addresses import has_empty, no_empty_parameters
from layersadmin.htmx import (
    HtmxHttpRequest,
    local_next,
    login_required,
    render_htmx,
    wants_fragment,
)
from layersadmin.layers import (
    CustomerMismatch,
    LayersAPIError,
    LayersBusy,
    LayersError,
    LayersOutcomeUnknown,
    LayersUnavailable,
)
from projects.models import Project
from projects.selectors import (
    project_for_user,
    project_kind_freshness,
    project_timezone,
    project_zone,
    projects_visible_to,
)

CHANGE_OVERRIDE = "creatives.change_override"


def _query_without(request: HtmxHttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


def _has_filters(request: HtmxHttpRequest) -> bool:
    return any(v for name, values in request.GET.lists() if name != "cursor" for v in values)


def _creative_or_404(project: Project, ads_content_id: str) -> AdsContent:
    if len(ads_content_id) > 64 or "\x00" in ads_content_id:
        raise Http404("No such creative.")
    try:
        return creative_get(project=project, ads_content_id=ads_content_id)
    except AdsContent.DoesNotExist:
        raise Http404("No such creative.") from None


def _day_start(day: dt.date | None, project: Project, *, days: int = 0) -> dt.datetime | None:
    """Midnight of ``day`` (+ ``days``) in the project's timezone: date filters are local."""
    if day is None:
        return None
    return dt.datetime.combine(day + dt.timedelta(days=days), dt.time.min, project_zone(project))


# --- gallery ------------------------------------------------------------------------------------


@require_GET
@login_required
@no_empty_parameters
def gallery(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    project = project_for_user(request.user, project_id)
    with project_timezone(project):
        form = GalleryFilterForm(request.GET, choices=container_choices(project=project))
        v = form.values()
        # "Load more" asks for the next page only: its tiles replace the button.
        loading_more = bool(request.GET.get("cursor")) and wants_fragment(request)
        page = container_page(
            project=project,
            cursor=v["cursor"] or None,
            statuses=v["status"],
            formats=v["format"],
            creative_type=v["creativeType"],
            since=_day_start(v["since"], project),
            until=_day_start(v["until"], project, days=1),
            with_total=not loading_more,
        )
        if loading_more and form.ignored("cursor"):
            page.items, page.next_cursor = [], None  # never repeat the first page below it
        context = {
            "project": project,
            "tab": "gallery",
            "form": form,
            "problems": form.problems,
            "page": page,
            "filtered": _has_filters(request),
        }
        fragment = "page" if loading_more else "results"
        return render_htmx(request, "creatives/gallery.html", context, fragment=fragment)


# --- scored creatives ---------------------------------------------------------------------------


def _creative_filters(request: HtmxHttpRequest, project: Project) -> CreativeFilterForm:
    return CreativeFilterForm(request.GET, pools=creative_pools(project=project))


@dataclass
class DecisionTable:
    """What both decision tables (one project's, and the agency's across projects) compute
    the same way: the template context, which fragment an htmx request wants, and the
    address without empty parameters."""

    context: dict[str, Any]
    fragment: str
    url: str
    loading_more: bool


def decision_table(
    request: HtmxHttpRequest, *, scope: dict[str, Any], archived: bool = False
) -> DecisionTable | HttpResponse:
    """The decision table's steps for ``scope`` (``{"project": p}`` or ``{"projects": qs}``,
    as every selector of the table takes it): the filters, one keyset page, the columns with
    their sort links, the watchlists. A plain form's submit that names empty fields gets a
    redirect to the address without them."""
    form = CreativeFilterForm(request.GET, pools=creative_pools(**scope))
    query = form.query()
    url = f"{request.path}?{query}" if query else request.path
    if not request.htmx and not form.problems and has_empty(request.GET):
        return redirect(url)  # a plain form's submit names every field, empty or not
    loading_more = bool(request.GET.get("cursor")) and wants_fragment(request)
    selector_kwargs = form.selector_kwargs()
    page = creative_page(
        cursor=form.values()["cursor"] or None,
        with_total=not loading_more,
        **scope,
        **selector_kwargs,
    )
    if loading_more and form.ignored("cursor"):
        page.items, page.next_cursor = [], None
    counts = {} if loading_more else watchlist_counts(**scope)
    table = creative_table(window=selector_kwargs["window"], **scope)
    table.headers = table_headers(
        sort=selector_kwargs["sort"], query=lambda sort: form.query(sort=sort)
    )
    can_override = request.user.has_perm(CHANGE_OVERRIDE)
    context = {
        "form": form,
        "problems": form.problems,
        "page": page,
        "table": table,
        "ratio_defaults": form.ratio_defaults(),
        "watchlists": [(key, label, counts.get(key)) for key, label in WATCHLISTS.items()],
        "watch": form.values()["watch"],
        "can_override": can_override,
        # Rows to tick for a bulk action (creatives.bulk_views); none when archived.
        "bulk_pick": can_override and not archived,
        "return_to": url,
        "export_query": query,
        "ids_chip": _ids_chip(form),
    }
    fragment = "page" if loading_more else "results"
    if request.htmx and request.htmx.target == "creative-listing":
        fragment = "listing"  # a sort header: the controls show the new sort too
    return DecisionTable(context=context, fragment=fragment, url=url, loading_more=loading_more)


@require_GET
@login_required
def creative_list(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    """The scored creatives with their figures for one window, filtered and sorted by the
    form; the address bar carries the filters in use, no empty parameter (``form.query``)."""
    project = project_for_user(request.user, project_id)
    with project_timezone(project):
        table = decision_table(request, scope={"project": project}, archived=project.is_archived)
        if isinstance(table, HttpResponse):
            return table
        context = {"project": project, "tab": "creatives", **table.context}
        response = render_htmx(
            request, "creatives/creative_list.html", context, fragment=table.fragment
        )
        if wants_fragment(request) and not table.loading_more:
            push_url(response, table.url)  # the address bar without empty parameters
        return response


def _ids_chip(form: CreativeFilterForm) -> dict[str, str] | None:
    """The removable chip of an ``ids`` filter (an alert's link): what it says, and the
    table's address without it."""
    ids = form.values()["ids"]
    if not ids:
        return None
    text = IDS_CHIP.format(count=len(ids), plural="" if len(ids) == 1 else "s")
    return {"text": text, "remove": IDS_CHIP_REMOVE, "query": form.query(ids="")}


def _csv_cell(value: Any) -> Any:
    """Keep a spreadsheet from running API text as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def _filename(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts))[:150] + ".csv"


def _local(moment: dt.datetime | None, project: Project) -> str:
    return moment.astimezone(project_zone(project)).isoformat() if moment else ""


@require_GET
@login_required
def creative_export(request: HtmxHttpRequest, project_id: str) -> StreamingHttpResponse:
    """The creatives table as shown (same filters, window and sort; every page), as CSV:
    the columns of ``creatives.table``, numbers as given, times in the project's zone."""
    project = project_for_user(request.user, project_id)
    form = _creative_filters(request, project)
    rows = creative_queryset(project=project, **form.selector_kwargs())
    zone = project_zone(project)

    def lines() -> Iterator[list[Any]]:
        for row in rows.iterator(chunk_size=1000):
            yield export_line(row, zone)

    header = export_header()  # the table's columns (creatives.table), in its order
    response = StreamingHttpResponse(_csv_stream(header, lines()), content_type="text/csv")
    name = _filename("creatives", project.name or project.layers_id)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# --- one creative, and its override -------------------------------------------------------------


@require_GET
@login_required
def creative_detail(request: HtmxHttpRequest, project_id: str, ads_content_id: str) -> HttpResponse:
    project = project_for_user(request.user, project_id)
    creative = _creative_or_404(project, ads_content_id)
    with project_timezone(project):
        context = {
            "project": project,
            "tab": "creatives",
            "creative": creative,
            "row": creative,
            "samples": score_history(ads_content=creative),
            "history": override_history(ads_content=creative),
            "appearances": creative_leaderboard_appearances(ads_content=creative),
            "can_override": request.user.has_perm(CHANGE_OVERRIDE),
            "return_to": request.path,
            "fragment_name": "panel",
        }
        return render_htmx(request, "creatives/creative_detail.html", context, fragment="detail")


def _override_done(row: AdsContent, replayed: bool, request_id: str) -> str:
    state = {"include": "Included", "exclude": "Excluded"}.get(row.override, "Override cleared")
    if replayed:
        return f"{state}: this form was already sent; Layers applied it once."
    return f"{state}. Layers confirmed the change (request {request_id or 'id not given'})."


def _error_text(exc: LayersError) -> str:
    request_id = exc.request_id or "none"
    return f"{exc.message} (code {exc.code}, request {request_id})"


def _override_apply(form: OverrideForm, creative: AdsContent, user) -> tuple[int, str, str]:
    """Send the change through the service; (HTTP status, confirmation, error) for the page.

    The service writes the audit entry (failed or unknown on an error); here each outcome
    becomes words for the person who clicked, with the API's code and request id.
    """
    if not form.is_valid():
        return 422, "", " ".join(e for errors in form.errors.values() for e in errors)
    try:
        result = creative_override_set(
            ads_content=creative,
            user=user,
            override=form.service_override(),
            note=form.cleaned_data["note"],
            form_token=form.cleaned_data["form_token"],
            source="dashboard",
        )
    except ValidationError as exc:
        return 422, "", " ".join(m for ms in exc.message_dict.values() for m in ms)
    except OverrideRefused as exc:  # archived, or nothing to clear: plain words, not a code
        seen = f" (Layers request {exc.request_id})" if exc.request_id else ""
        return 409, "", f"{exc.message}{seen}"
    except (OverrideInProgress, CustomerMismatch) as exc:
        return 409, "", f"Nothing was changed: {_error_text(exc)}"
    except LayersBusy as exc:  # the rate budget would keep this person waiting too long
        return 429, "", exc.message
    except (LayersOutcomeUnknown, LayersUnavailable) as exc:
        return (
            504,
            "",
            (
                "No answer from Layers, so the change may or may not have been applied; it is "
                "recorded as unknown. Reload in a minute to see where it stands. "
                f"{_error_text(exc)}"
            ),
        )
    except LayersAPIError as exc:
        return 502, "", f"Layers refused the change; nothing was changed: {_error_text(exc)}"
    except LayersError as exc:
        return 502, "", f"The change could not be made: {_error_text(exc)}"
    return 200, _override_done(result.ads_content, result.replayed, result.audit.request_id), ""


@require_POST
@login_required
def creative_override(
    request: HtmxHttpRequest, project_id: str, ads_content_id: str
) -> HttpResponse:
    """Include, exclude or clear one creative through the override service.

    htmx gets the row (or the detail page's panel) back, re-read from the database: changed on
    success, unchanged with the reason on failure. Without JavaScript: a message and a
    redirect back to where the form was.

    An exclusion is sent only once confirmed (``confirmed=exclude``: the dialog app.js opens,
    or the confirmation step rendered here for a form sent without it: a page without
    JavaScript, the fragment with its dialog open for htmx); the note typed is kept.
    """
    project = project_for_user(request.user, project_id)
    creative = _creative_or_404(project, ads_content_id)
    return override_post(request, project, creative)


def override_post(request: HtmxHttpRequest, project: Project, creative: AdsContent) -> HttpResponse:
    """The override's POST (``creative_override``), wherever its form is: this creative's
    page, or a decision table's one shared dialog (``creatives.bulk_views.creative_change``,
    whose ``table=agency`` asks for the agency table's row back)."""
    if not request.user.has_perm(CHANGE_OVERRIDE):
        raise PermissionDenied("You may not change overrides.")
    form = OverrideForm(request.POST)
    default_next = reverse("creative_list", kwargs={"project_id": project.layers_id})
    return_to = local_next(request, request.POST.get("next", "")[:2000], default_next)
    panel = request.POST.get("fragment") == "panel"
    if form.is_valid() and form.needs_confirmation() and not project.is_archived:
        return _exclude_confirmation(request, project, creative, form, return_to, panel)
    status, done, error = _override_apply(form, creative, request.user)
    if status == 409:  # Layers may have named the project archived: show it locked now
        project.refresh_from_db(fields=["status"])

    if not wants_fragment(request):
        if error:
            messages.error(request, f"{creative.title or creative.layers_id}: {error}")
        else:
            messages.success(request, f"{creative.title or creative.layers_id}: {done}")
        return HttpResponseRedirect(return_to)

    # Keep what was typed when the change did not go through.
    note_value = request.POST.get("note", "")[:2000] if error else ""
    return _override_fragment(
        request,
        project,
        creative,
        panel=panel,
        status=status,
        return_to=return_to,
        done=done,
        error=error,
        flash=True,
        note_value=note_value,
        undo=override_undo_offer(creative, request.user) if done else None,
    )


def _override_fragment(
    request: HtmxHttpRequest,
    project: Project,
    creative: AdsContent,
    *,
    panel: bool,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    """The table row (or the detail page's override panel) of one creative, re-read."""
    with project_timezone(project):
        try:
            row = creative_row(ads_content=creative)
        except AdsContent.DoesNotExist:  # the sync found it gone meanwhile
            raise Http404("No such creative.") from None
        context = {"project": project, "row": row, "creative": row, "can_override": True, **extra}
        # The agency's decision table has a project column (creatives.bulk_views).
        context["agency"] = request.POST.get("table") == "agency"
        context["bulk_pick"] = not panel  # the table it goes back into has the box column
        if panel:
            context["history"] = override_history(ads_content=row)
            context["fragment_name"] = "panel"
            template = "creatives/creative_detail.html"
        else:
            # The row's figures for the window of the page the override was made on.
            window = figure_window_of(str(extra.get("return_to") or ""))
            attach_figures([row], window=window)
            context["table"] = creative_table(project=project, window=window)
            template = "creatives/creative_list.html"
        return render_htmx(
            request, template, context, fragment="panel" if panel else "row", status=status
        )


def _exclude_confirmation(
    request: HtmxHttpRequest,
    project: Project,
    creative: AdsContent,
    form: OverrideForm,
    return_to: str,
    panel: bool,
) -> HttpResponse:
    """Ask before excluding: nothing is sent. htmx gets the row or panel with the dialog open;
    a plain POST gets a page with the same question and a form that sends it confirmed."""
    note = request.POST.get("note", "")[:2000]
    if wants_fragment(request):
        return _override_fragment(
            request,
            project,
            creative,
            panel=panel,
            return_to=return_to,
            note_value=note,
            confirm_exclude=True,
        )
    with project_timezone(project):
        context = {
            "project": project,
            "tab": "creatives",
            "creative": creative,
            "note_value": note,
            "form_token": form.cleaned_data["form_token"],
            "return_to": return_to,
            "fragment_name": "panel" if panel else "row",
        }
        return render_htmx(request, "creatives/override_confirm.html", context, fragment=None)


# --- leaderboards -------------------------------------------------------------------------------


def _leaderboard_context(
    project: Project, form: LeaderboardForm, *, fetch: bool = True, **extra: Any
) -> dict[str, Any]:
    controls = form.service_kwargs()
    baseline = form.baseline_choice()
    shown = leaderboard_show(
        project=project, fetch=fetch and not form.problems, baseline=baseline, **controls
    )
    filters = leaderboard_filters(
        source_types=controls["source_types"],
        platforms=controls["platforms"],
        limit=controls["limit"],
        include_ineligible=controls["include_ineligible"],
    )
    query = leaderboard_query(metric=controls["metric"], window=controls["window"], filters=filters)
    if baseline != DEFAULT_BASELINE:  # the page's own control rides along (export, redirect)
        query = f"{query}&{urlencode({'baseline': baseline})}"
    return {
        "project": project,
        "tab": "leaderboard",
        "form": form,
        "problems": form.problems,
        "board": shown.board,
        "shown": shown,
        "mixes": _mix_labels(shown.mixes),
        "metric": controls["metric"],
        "controls": controls,
        "baseline": baseline,
        "baseline_label": BASELINES[baseline],
        "query": query,
        **extra,
    }


def _mix_labels(mixes: SourceMixes | None) -> dict[str, list[str]] | None:
    """Learned source mixes as people read them: "Generated + Manual uploads"."""
    if mixes is None:
        return None

    def label(mix: tuple[str, ...]) -> str:
        return " + ".join(SOURCE_TYPES.get(v, v) for v in mix) if mix else "all sources"

    return {
        "answered": [label(mix) for mix in mixes.answered],
        "declined": [label(mix) for mix in mixes.declined],
    }


@require_GET
@login_required
@no_empty_parameters
def leaderboard(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    """The stored board for the chosen controls; a combination never stored is fetched now
    (or queued when Layers is busy, and this fragment polls), a stale one refreshed in the
    background (``creatives.demand``)."""
    project = project_for_user(request.user, project_id)
    with project_timezone(project):
        context = _leaderboard_context(project, LeaderboardForm(request.GET))
        return render_htmx(request, "leaderboard/project.html", context, fragment="results")


@require_POST
@login_required
def leaderboard_refresh_view(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    """Fetch the leaderboard live (the same service as the background fetch), store the
    snapshot, show it."""
    project = project_for_user(request.user, project_id)
    form = LeaderboardForm(request.POST)
    status, notice, error = 200, "", ""
    if form.problems:
        status, error = 422, "Fix the controls first: " + " ".join(form.problems)
    else:
        try:
            snapshot, created = leaderboard_refresh_now(
                project=project,
                max_wait=settings.LAYERS_INTERACTIVE_MAX_WAIT,
                **form.service_kwargs(),
            )
        except LayersBusy as exc:
            status, error = 429, exc.message
        except LayersAPIError as exc:
            # A 422 is the API explaining the controls (e.g. a paid metric with an
            # organic-only source mix): shown next to them, in the API's own words.
            status = 422 if exc.status == 422 else 502
            error = f"Layers refused: {_error_text(exc)}"
        except LayersError as exc:
            status = 504
            error = f"No answer from Layers; the stored snapshot is shown. {_error_text(exc)}"
        if not error and snapshot.declined:
            # The API declined these controls (e.g. a paid metric with an organic-only source
            # mix): stored as such, and explained next to them in the API's own words.
            status = 422
            error = f"Layers refused: {snapshot.declined_message} (code VALIDATION)"
        elif not error:
            with project_timezone(project):
                when = timezone.localtime(timezone.now()).strftime("%H:%M")
            notice = (
                f"Fetched live at {when}: a new snapshot was stored."
                if created
                else f"Fetched live at {when}: nothing changed since the stored snapshot."
            )
    with project_timezone(project):
        # The button was the fetch: the board shown is what is stored now, nothing more.
        context = _leaderboard_context(
            project, form, fetch=False, notice=notice, refresh_error=error
        )
        if not wants_fragment(request) and not error:
            messages.success(request, notice)
            url = reverse("project_leaderboard", kwargs={"project_id": project.layers_id})
            return redirect(f"{url}?{context['query']}")
        return render_htmx(
            request, "leaderboard/project.html", context, fragment="results", status=status
        )


def _board_csv(rows: Iterable, metric: str, columns: tuple[BoardColumn, ...]) -> str:
    """A leaderboard table as CSV: its columns' exports (creatives.table), in its order."""
    lines = (board_export_line(row, metric, columns) for row in rows)
    return "".join(_csv_stream(board_export_header(columns), lines))


@require_GET
@login_required
def leaderboard_export(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    """The leaderboard as shown (same controls, same stored snapshot, same baseline), as CSV:
    the columns of ``creatives.table.PROJECT_BOARD_COLUMNS``, rank movement and metric change
    included."""
    project = project_for_user(request.user, project_id)
    form = LeaderboardForm(request.GET)
    controls = form.service_kwargs()
    board = leaderboard_get(project=project, baseline=form.baseline_choice(), **controls)
    response = HttpResponse(
        _board_csv(board.rows, controls["metric"], PROJECT_BOARD_COLUMNS), content_type="text/csv"
    )
    name = _filename(
        "leaderboard", project.name or project.layers_id, controls["metric"], controls["window"]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@login_required
@no_empty_parameters
def agency_leaderboard(request: HtmxHttpRequest) -> HttpResponse:
    """Top creatives across every project the user may see, from each one's newest default
    board; boards not stored yet are fetched first, or queued and polled for
    (``creatives.demand.leaderboard_agency_show``)."""
    form = AgencyLeaderboardForm(request.GET)
    v = form.values()
    shown = leaderboard_agency_show(
        projects=projects_visible_to(request.user),
        metric=v["metric"],
        window=v["window"],
        limit=v["limit"],
        fetch=not form.problems,
    )
    query = urlencode({"metric": v["metric"], "window": v["window"], "limit": v["limit"]})
    context = {
        "form": form,
        "problems": form.problems,
        "rows": shown.rows,
        "shown": shown,
        "mixes": _mix_labels(shown.mixes),
        "metric": v["metric"],
        "window": v["window"],
        "nav": "leaderboard",
        "export_query": query,
        "query": query,
    }
    return render_htmx(request, "leaderboard/agency.html", context, fragment="results")


@require_GET
@login_required
def agency_leaderboard_export(request: HtmxHttpRequest) -> HttpResponse:
    """The agency board as stored (the export never fetches)."""
    form = AgencyLeaderboardForm(request.GET)
    v = form.values()
    rows = leaderboard_agency(
        projects=projects_visible_to(request.user),
        metric=v["metric"],
        window=v["window"],
        limit=v["limit"],
    )
    response = HttpResponse(
        _board_csv(rows, v["metric"], AGENCY_BOARD_COLUMNS), content_type="text/csv"
    )
    name = _filename("agency-leaderboard", v["metric"], v["window"])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_GET
@login_required
def project_detail(request: HtmxHttpRequest, project_id: str) -> HttpResponse:
    project = project_for_user(request.user, project_id)
    with project_timezone(project):
        context = {
            "project": project,
            "tab": "overview",
            "stats": project_stats(project=project),
            "top_creatives": project_top_creatives(project=project),
            "leaderboards": project_leaderboards(project=project),
            "recent_overrides": project_recent_overrides(project=project),
            "freshness": project_kind_freshness(project=project),
        }
        return render_htmx(request, "projects/project_detail.html", context, fragment="overview")
