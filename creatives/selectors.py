"""Reads for the dashboard's creative pages: gallery, scored creatives, leaderboards.

Every list is read in a fixed number of queries whatever its size (annotations,
``select_related`` and one ``Prefetch`` instead of per-row lookups), and rows the API no
longer returns (``is_gone``) are hidden. Long lists page by keyset, not offset: the cursor
names the last row shown (its sort value and Layers id), so a page never repeats or skips
rows when the sync adds some in between.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    FilteredRelation,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Concat, NullIf, Trim
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from creatives.figures import SUM_CHANGING_FILTERS
from creatives.models import (
    ELIGIBILITY_THRESHOLD,
    AdsContent,
    ContentContainer,
    CreativeFigures,
    LeaderboardSnapshot,
    OverrideAudit,
    ScoreSample,
)
from creatives.services import leaderboard_configured, leaderboard_filters
from creatives.table import DEFAULT_SORT, SORTS, CreativeTable, Sort
from creatives.vocabulary import (
    BASELINE_AGES,
    BASELINES,
    DEFAULT_BASELINE,
    FIGURE_NAMES,
    FIGURE_WINDOW_LABELS,
    FIGURE_WINDOWS,
    METRIC_LABELS,
    METRICS,
    ROW_WINDOW,
)
from layersadmin.layers import payload as p
from layersadmin.layers.ids import id_key, same_id
from projects.models import Project

GALLERY_PAGE_SIZE = 24
# Stored payloads the list pages never show: deferred, so a page does not load and decode a
# JSON document per row it lists (the raw payload is the largest column of both tables).
LIST_DEFERRED = ("raw",)
CREATIVE_LIST_DEFERRED = ("raw", "organic_performance", "ad_performance")
CREATIVES_PAGE_SIZE = 50
SPARK_SAMPLES = 30  # the trend line shows the last 30 observed scores
DEFAULT_WINDOW = "30d"  # the figures' window when none is chosen (the API's default window)
API_DEFAULT_LIMIT = 25  # top-performers' default `limit` (REFERENCE 8.8)

# --- cursors ------------------------------------------------------------------------------------


# A cursor on a text column carries the text (a title, up to 500 characters).
CURSOR_MAX_LENGTH = 2048


class InvalidCursor(ValueError):
    """A cursor that was not made by us, or not for this list and sort."""


def cursor_encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> dict[str, Any]:
    if not cursor or len(cursor) > CURSOR_MAX_LENGTH:
        raise InvalidCursor("empty or too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor("not a cursor") from exc
    if not isinstance(data, dict) or not isinstance(data.get("i"), str) or not data["i"]:
        raise InvalidCursor("not a cursor")
    if len(data["i"]) > 64 or "\x00" in data["i"]:
        raise InvalidCursor("bad id")
    return data


def _cursor_time(value: Any) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) and len(value) <= 40 else None
    if parsed is None or parsed.tzinfo is None:
        raise InvalidCursor("bad time")
    return parsed


@dataclass
class Page:
    """One page of a keyset-paginated list; ``next_cursor`` is None on the last page."""

    items: list
    next_cursor: str | None
    total: int | None = None


def _page(rows: list, size: int, make_cursor) -> Page:
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(items=rows, next_cursor=make_cursor(rows[-1]) if has_more and rows else None)


# --- gallery ------------------------------------------------------------------------------------


def gallery_cursor(container: ContentContainer) -> str:
    return cursor_encode({"t": container.created_at.isoformat(), "i": container.layers_id})


def gallery_cursor_parse(cursor: str) -> tuple[datetime, str]:
    data = cursor_decode(cursor)
    return _cursor_time(data.get("t")), data["i"]


def container_choices(*, project: Project) -> dict[str, list[str]]:
    """Statuses, formats and creative types present in a project (for the filter controls)."""
    rows = (
        ContentContainer.objects.filter(project=project, is_gone=False)
        .order_by()
        .values_list("status", "format", "creative_type")
        .distinct()
    )
    found: dict[str, set[str]] = {"status": set(), "format": set(), "creative_type": set()}
    for status, fmt, creative_type in rows:
        found["status"].add(status)
        found["format"].add(fmt)
        found["creative_type"].add(creative_type)
    return {key: sorted(v for v in values if v) for key, values in found.items()}


def container_queryset(
    *,
    project: Project,
    statuses: Iterable[str] = (),
    formats: Iterable[str] = (),
    creative_type: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[ContentContainer]:
    """A project's visible containers, filtered, newest first (the gallery's order)."""
    containers = ContentContainer.objects.filter(project=project, is_gone=False)
    if statuses:
        containers = containers.filter(status__in=list(statuses))
    if formats:
        containers = containers.filter(format__in=list(formats))
    if creative_type:
        containers = containers.filter(creative_type=creative_type)
    if since is not None:
        containers = containers.filter(created_at__gte=since)
    if until is not None:
        containers = containers.filter(created_at__lt=until)
    # The creative scored from this container, if any, so a card can link to it.
    creative = AdsContent.objects.filter(container=OuterRef("pk"), is_gone=False).order_by(
        "-organic_score", "-layers_id"
    )
    return containers.annotate(
        ads_content_layers_id=Subquery(creative.values("layers_id")[:1]),
        ads_content_score=Subquery(creative.values("organic_score")[:1]),
    ).order_by("-created_at", "-layers_id")


def container_page(
    *,
    project: Project,
    cursor: tuple[datetime, str] | None = None,
    size: int = GALLERY_PAGE_SIZE,
    with_total: bool = True,
    **filters: Any,
) -> Page:
    """One gallery page after ``cursor`` (created_at, layers_id), newest first."""
    containers = container_queryset(project=project, **filters)
    total = containers.count() if with_total else None
    if cursor is not None:
        created_at, layers_id = cursor
        containers = containers.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, layers_id__lt=layers_id)
        )
    page = _page(list(containers.defer(*LIST_DEFERRED)[: size + 1]), size, gallery_cursor)
    page.total = total
    return page


# --- scored creatives ---------------------------------------------------------------------------

WATCHLISTS = {
    "included_low": f"Included but scoring under {ELIGIBILITY_THRESHOLD:.1f}",
    "excluded_high": f"Excluded but scoring {ELIGIBILITY_THRESHOLD:.1f} or more",
}
OVERRIDE_STATES = {
    "set": "Any override",
    "include": "Included",
    "exclude": "Excluded",
    "none": "No override",
}


def _sort(name: str) -> Sort:
    return SORTS.get(name) or SORTS[DEFAULT_SORT]


def creative_cursor(row: AdsContent, sort: str) -> str:
    value = getattr(row, _sort(sort).sort_on)
    if isinstance(value, datetime):
        value = value.isoformat()
    return cursor_encode({"s": sort, "v": value, "i": row.layers_id})


def creative_cursor_parse(cursor: str, sort: str) -> tuple[Any, str]:
    data = cursor_decode(cursor)
    if data.get("s") != sort:
        raise InvalidCursor("made for another sort")
    spec, value = _sort(sort), data.get("v")
    if value is None:
        if not spec.nullable:
            raise InvalidCursor("no value")
        return None, data["i"]
    if spec.value_type is datetime:
        return _cursor_time(value), data["i"]
    if spec.value_type is bool:
        if not isinstance(value, bool):
            raise InvalidCursor("bad value")
        return value, data["i"]
    if spec.value_type is str:
        if not isinstance(value, str) or len(value) > 1000 or "\x00" in value:
            raise InvalidCursor("bad value")
        return value, data["i"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidCursor("bad number")
    return float(value), data["i"]


def _after(sort: str, value: Any, layers_id: str) -> Q:
    """Rows strictly after (value, layers_id) in ``sort`` order; NULLs come last both ways
    (``_ordering``), then by layers_id the same way."""
    spec = _sort(sort)
    name, way = spec.sort_on, "lt" if spec.descending else "gt"
    if value is None:
        return Q(**{f"{name}__isnull": True, f"layers_id__{way}": layers_id})
    after = Q(**{f"{name}__{way}": value}) | Q(**{name: value, f"layers_id__{way}": layers_id})
    if spec.nullable:
        after |= Q(**{f"{name}__isnull": True})
    return after


def _ordering(sort: str) -> list:
    spec = _sort(sort)
    if spec.nullable:  # NULLS LAST on both databases, both ways
        first = F(spec.sort_on)
        first = first.desc(nulls_last=True) if spec.descending else first.asc(nulls_last=True)
    else:  # plain, so the (project, -organic_score, -layers_id) index still serves it
        first = f"-{spec.sort_on}" if spec.descending else spec.sort_on
    return [first, "-layers_id" if spec.descending else "layers_id"]


def _with_sort_values(rows: QuerySet[AdsContent], window: str) -> QuerySet[AdsContent]:
    """The values the table sorts on, and its figures for ``window``, joined in the same
    query (one LEFT JOIN on the unique (ads_content, window): no query per row)."""
    return rows.annotate(
        shown_figures=FilteredRelation("figures", condition=Q(figures__window=window)),
        sort_title=NullIf("title", Value("")),
        sort_pool=NullIf("scoring_pool", Value("")),
        sort_override=NullIf("override", Value("")),
        sort_promoted=Case(
            When(active_promotions=[], then=Value(False)),
            default=Value(True),
            output_field=BooleanField(),
        ),
        fig_as_of=F("shown_figures__as_of"),
        fig_source=F("shown_figures__source"),
        **{f"fig_{name}": F(f"shown_figures__{name}") for name in FIGURE_NAMES},
    )


def _scoped(rows: QuerySet, project: Project | None, projects: QuerySet[Project] | None):
    """Rows of one project, or (the agency's table) of every project of ``projects``."""
    if project is not None:
        return rows.filter(project=project)
    return rows.filter(project__in=projects if projects is not None else Project.objects.none())


def creative_queryset(
    *,
    project: Project | None = None,
    projects: QuerySet[Project] | None = None,
    pool: str = "",
    override: str = "",
    eligible: bool | None = None,
    min_score: float | None = None,
    watch: str = "",
    sort: str = DEFAULT_SORT,
    window: str = DEFAULT_WINDOW,
    min_spend: float | None = None,
    min_conversions: float | None = None,
    ids: list[str] | None = None,
) -> QuerySet[AdsContent]:
    """A project's visible scored creatives with their figures for ``window``, filtered and
    sorted (no per-row queries). A minimum spend or conversions keeps only creatives with
    such a figure. ``ids``: exactly these creatives (ads-content ids in any form)."""
    rows = _scoped(AdsContent.objects.filter(is_gone=False), project, projects)
    if ids:
        rows = rows.filter(key__in=sorted({id_key(i) for i in ids} - {""}))
    if pool:
        rows = rows.filter(scoring_pool=pool)
    if override == "none":
        rows = rows.filter(override="")
    elif override == "set":
        rows = rows.exclude(override="")
    elif override:
        rows = rows.filter(override=override)
    if eligible is not None:
        rows = rows.filter(is_eligible=eligible)
    if min_score is not None:
        rows = rows.filter(organic_score__gte=min_score)
    if watch == "included_low":
        rows = rows.filter(override="include", organic_score__lt=ELIGIBILITY_THRESHOLD)
    elif watch == "excluded_high":
        rows = rows.filter(override="exclude", organic_score__gte=ELIGIBILITY_THRESHOLD)
    rows = _with_sort_values(rows, window if window in FIGURE_WINDOWS else DEFAULT_WINDOW)
    if min_spend is not None:
        rows = rows.filter(fig_spend__gte=min_spend)
    if min_conversions is not None:
        rows = rows.filter(fig_conversions__gte=min_conversions)
    return rows.order_by(*_ordering(sort))


def figure_window_of(address: str) -> str:
    """The figures' window a creatives-table address names (``?window=``), else the default."""
    window = (parse_qs(urlsplit(address).query).get("window") or [DEFAULT_WINDOW])[0]
    return window if window in FIGURE_WINDOWS else DEFAULT_WINDOW


def creative_table(
    *, project: Project | None = None, projects: QuerySet[Project] | None = None, window: str
) -> CreativeTable:
    """The table's window and what it says of a creative without figures for it, from the
    boards that feed them (``creatives.figures``): one query. ``projects``: the agency's
    table, over all of them."""
    label = FIGURE_WINDOW_LABELS.get(window, window)
    whose = "this project's" if project is not None else "these projects'"
    if window == ROW_WINDOW:
        return CreativeTable(
            window=window,
            window_label=label,
            missing_short="no figures on its row",
            missing_long=(
                "Its ads-content row carries no performance figures (organicPerformance and "
                "adPerformance are empty: never posted, or never promoted)."
            ),
        )
    boards = latest_snapshots(
        _scoped(LeaderboardSnapshot.objects, project, projects).filter(
            window=window, declined=False
        )
    ).values_list("metric", "filters")
    metrics, held = [], 0
    for metric, filters in boards:
        filters = filters if isinstance(filters, dict) else {}
        if any(filters.get(name) for name in SUM_CHANGING_FILTERS):
            continue
        limit = filters.get("limit", API_DEFAULT_LIMIT)
        held = max(held, limit if isinstance(limit, int) else API_DEFAULT_LIMIT)
        if metric not in metrics:
            metrics.append(metric)
    if not metrics:
        return CreativeTable(
            window=window,
            window_label=label,
            missing_short="no board for this window",
            missing_long=(
                f"No leaderboard over {label} is stored for {whose[:-2]}, so Layers has given "
                f"no figures for this window yet; viewing its leaderboard fetches one."
            ),
        )
    named = " or ".join(METRIC_LABELS.get(m, m) for m in sorted(metrics, key=_metric_order))
    return CreativeTable(
        window=window,
        window_label=label,
        missing_short=f"not in the top {held}",
        missing_long=(
            f"Not in the top {held} for this window: not among the top {held} by {named} over "
            f"{label} in {whose} stored leaderboards. Layers gives these figures only "
            "for the creatives it ranks (eligible ones, unless a board includes ineligible)."
        ),
    )


def _metric_order(metric: str) -> int:
    return METRICS.index(metric) if metric in METRICS else len(METRICS)


def attach_figures(rows: list[AdsContent], *, window: str) -> list[AdsContent]:
    """Set the ``fig_*`` values ``creative_queryset`` joins on rows read another way (one
    creative re-read after a change), in one query."""
    found = {
        figures.ads_content_id: figures
        for figures in CreativeFigures.objects.filter(
            ads_content_id__in=[row.pk for row in rows], window=window
        )
    }
    for row in rows:
        figures = found.get(row.pk)
        row.fig_as_of = figures.as_of if figures else None
        row.fig_source = figures.source if figures else None
        for name in FIGURE_NAMES:
            setattr(row, f"fig_{name}", getattr(figures, name) if figures else None)
    return rows


def with_row_details(rows: QuerySet[AdsContent]) -> QuerySet[AdsContent]:
    """What a creatives table row shows beyond its columns: trend and who overrode it here
    (one row; a page uses ``attach_local_authors``, one query for all its rows)."""
    last_change = OverrideAudit.objects.filter(
        ads_content=OuterRef("pk"), outcome=OverrideAudit.Outcome.SUCCEEDED
    ).order_by("-created_at", "-id")
    full_name = Trim(Concat("user__first_name", Value(" "), "user__last_name"))
    return rows.select_related("project").annotate(
        local_set_by=Subquery(last_change.values("user__username")[:1]),
        local_set_name=Subquery(last_change.annotate(name=full_name).values("name")[:1]),
        local_set_after=Subquery(last_change.values("after_override")[:1]),
        local_set_key=Subquery(last_change.values("response_set_by")[:1]),
        local_set_at=Subquery(last_change.values("created_at")[:1]),
    )


def attach_local_authors(rows: list[AdsContent]) -> list[AdsContent]:
    """Set what ``with_row_details`` annotates (the last successful override made here: who,
    by username and by full name, what, the key prefix the API recorded, when) for a page of
    rows in one query.

    One plain query for the page instead of four correlated subqueries per row: the same
    answer, without the cost of compiling and running those subqueries for every page.
    """
    latest: dict[int, dict[str, Any]] = {}
    if rows:
        audits = (
            OverrideAudit.objects.filter(
                ads_content_id__in=[row.pk for row in rows],
                outcome=OverrideAudit.Outcome.SUCCEEDED,
            )
            .order_by("ads_content_id", "-created_at", "-id")
            .values_list(
                "ads_content_id",
                "user__username",
                "user__first_name",
                "user__last_name",
                "after_override",
                "response_set_by",
                "created_at",
            )
        )
        for ads_content_id, username, first, last, after, key, at in audits:
            name = f"{first or ''} {last or ''}".strip()
            latest.setdefault(
                ads_content_id,
                {"by": username, "name": name, "after": after, "key": key, "at": at},
            )
    for row in rows:
        found = latest.get(row.pk, {})
        row.local_set_by = found.get("by")
        row.local_set_name = found.get("name")
        row.local_set_after = found.get("after")
        row.local_set_key = found.get("key")
        row.local_set_at = found.get("at")
    return rows


class Trend(list):
    """A row's last observed scores, oldest first, and ``scale``: the (low, high) every trend
    line of its table is drawn on (``layersadmin.templatetags.dashboard.sparkline``)."""

    scale: tuple[float, float] | None = None


@dataclass(frozen=True)
class CreativeSummary:
    """What a creatives table shows of all its visible creatives, whatever its filters."""

    total: int
    pools: list[str]
    scale: tuple[float, float] | None  # lowest and highest score (the trend lines' scale)
    included_low: int
    excluded_high: int


def creative_summary(
    *, project: Project | None = None, projects: QuerySet[Project] | None = None
) -> CreativeSummary:
    """The pools (for the filter), the trend lines' scale, the watchlists' counts and the
    unfiltered total of a project's visible creatives (or of every project of ``projects``),
    in one query grouped by pool: one pass over the rows where four used to be made (issue
    16). Kept on the project instance (or the ``projects`` queryset) for the rest of the
    request: a creatives page asks for it three or four times."""
    holder = project if project is not None else projects  # what the request passes along
    kept = getattr(holder, "_creative_summary", None)
    if kept is not None:
        return kept
    groups = (
        _scoped(AdsContent.objects.filter(is_gone=False), project, projects)
        .order_by()
        .values("scoring_pool")
        .annotate(
            n=Count("pk"),
            low=Min("organic_score"),
            high=Max("organic_score"),
            included_low=Count(
                "pk", filter=Q(override="include", organic_score__lt=ELIGIBILITY_THRESHOLD)
            ),
            excluded_high=Count(
                "pk", filter=Q(override="exclude", organic_score__gte=ELIGIBILITY_THRESHOLD)
            ),
        )
    )
    groups = list(groups)
    lows = [g["low"] for g in groups if g["low"] is not None]
    highs = [g["high"] for g in groups if g["high"] is not None]
    summary = CreativeSummary(
        total=sum(g["n"] for g in groups),
        pools=sorted(g["scoring_pool"] for g in groups if g["scoring_pool"]),
        scale=(float(min(lows)), float(max(highs))) if lows and highs else None,
        included_low=sum(g["included_low"] for g in groups),
        excluded_high=sum(g["excluded_high"] for g in groups),
    )
    if holder is not None:
        holder._creative_summary = summary
    return summary


def trend_scale(
    *, project: Project | None = None, projects: QuerySet[Project] | None = None
) -> tuple[float, float] | None:
    """One scale for every trend line of a project's creatives table (or the agency's, over
    ``projects``): the range of its visible creatives' scores (``creative_summary``), the
    same for every page, filter and swapped row, so lines compare across rows. A past score
    outside it is drawn at the edge."""
    return creative_summary(project=project, projects=projects).scale


def attach_trends(
    rows: list[AdsContent], *, scale: tuple[float, float] | None = None
) -> list[AdsContent]:
    """Set ``row.trend`` (the last scores, oldest first, on ``scale``) for rows in one query."""
    by_row: dict[int, list[float]] = {row.pk: [] for row in rows}
    if by_row:
        samples = (
            ScoreSample.objects.filter(ads_content_id__in=list(by_row))
            .order_by("ads_content_id", "observed_at", "id")
            .values_list("ads_content_id", "score")
        )
        for ads_content_id, score in samples:
            by_row[ads_content_id].append(score)
    for row in rows:
        row.trend = Trend(by_row[row.pk][-SPARK_SAMPLES:] or [row.organic_score])
        row.trend.scale = scale
    return rows


def creative_page(
    *,
    project: Project | None = None,
    projects: QuerySet[Project] | None = None,
    sort: str = "score_desc",
    cursor: tuple[Any, str] | None = None,
    size: int = CREATIVES_PAGE_SIZE,
    with_total: bool = True,
    **filters: Any,
) -> Page:
    """One page of the creatives table after ``cursor`` (sort value, layers_id); of one
    project, or of every project of ``projects`` (the agency's table: each row gets its own
    project, from one query of them)."""
    rows = creative_queryset(project=project, projects=projects, sort=sort, **filters)
    total = None
    if with_total:
        # Unfiltered (a window alone filters nothing): the summary's count, already needed.
        unfiltered = all(v in (None, "", [], ()) for k, v in filters.items() if k != "window")
        if unfiltered:
            total = creative_summary(project=project, projects=projects).total
        else:
            total = rows.count()
    if cursor is not None:
        rows = rows.filter(_after(sort, *cursor))
    rows = rows.defer(*CREATIVE_LIST_DEFERRED)
    page = _page(list(rows[: size + 1]), size, lambda r: creative_cursor(r, sort))
    if project is not None:
        for row in page.items:
            row.project = project  # the page's own project, not joined on every row
    elif page.items:
        by_pk = Project.objects.in_bulk({row.project_id for row in page.items})
        for row in page.items:
            row.project = by_pk[row.project_id]
    attach_local_authors(page.items)
    scale = trend_scale(project=project, projects=projects) if page.items else None
    attach_trends(page.items, scale=scale)
    page.total = total
    return page


def creative_pools(
    *, project: Project | None = None, projects: QuerySet[Project] | None = None
) -> list[str]:
    return creative_summary(project=project, projects=projects).pools


def watchlist_counts(
    *, project: Project | None = None, projects: QuerySet[Project] | None = None
) -> dict[str, int]:
    summary = creative_summary(project=project, projects=projects)
    return {"included_low": summary.included_low, "excluded_high": summary.excluded_high}


def creative_get(*, project: Project, ads_content_id: str) -> AdsContent:
    """One visible creative of the project (raises AdsContent.DoesNotExist)."""
    rows = with_row_details(
        AdsContent.objects.filter(project=project, is_gone=False, key=id_key(ads_content_id))
    ).select_related("container")
    return rows.get()


def creative_row(*, ads_content: AdsContent) -> AdsContent:
    """The creatives-table row for one creative, re-read after a change (with its trend)."""
    row = creative_get(project=ads_content.project, ads_content_id=ads_content.layers_id)
    attach_trends([row], scale=trend_scale(project=ads_content.project))
    return row


def score_history(*, ads_content: AdsContent) -> list[ScoreSample]:
    return list(ScoreSample.objects.filter(ads_content=ads_content).order_by("observed_at", "id"))


def override_history(*, ads_content: AdsContent, limit: int = 50) -> list[OverrideAudit]:
    return list(
        OverrideAudit.objects.filter(ads_content=ads_content)
        .select_related("user")
        .order_by("-created_at", "-id")[:limit]
    )


def project_recent_overrides(*, project: Project, limit: int = 8) -> list[OverrideAudit]:
    return list(
        OverrideAudit.objects.filter(project=project)
        .select_related("user", "ads_content")
        .order_by("-created_at", "-id")[:limit]
    )


def project_top_creatives(*, project: Project, limit: int = 5) -> list[AdsContent]:
    return list(
        AdsContent.objects.filter(project=project, is_gone=False, is_eligible=True)
        .select_related("project")
        .order_by("-organic_score", "-layers_id")[:limit]
    )


# --- leaderboards -------------------------------------------------------------------------------

MOVE_NEW, MOVE_UP, MOVE_DOWN, MOVE_SAME, MOVE_NONE = "new", "up", "down", "same", ""


@dataclass
class LeaderboardRow:
    """One ranked item of a top-performers snapshot, cleaned for display."""

    rank: int
    title: str
    thumbnail_url: str
    ads_content_id: str
    source_type: str
    source_id: str
    platform_post_id: str
    metric_value: float | None
    organic: dict[str, Any] | None
    paid: dict[str, Any] | None
    bar: float = 0.0  # percent of the leader's value
    movement: str = MOVE_NEW
    delta: int = 0
    metric_change: float | None = None  # metric_value less the baseline's, when both known
    linked: bool = False
    project: Project | None = None
    snapshot: LeaderboardSnapshot | None = None
    project_rank: int = 0

    @property
    def key(self) -> tuple:
        return item_key_of(self.ads_content_id, self.source_type, self.title, self.thumbnail_url)


def item_key_of(ads_content_id: str, source_type: str, title: str, thumbnail: str) -> tuple:
    # Unmapped paid ads have no adsContentId: title and thumbnail identify them well enough.
    if ads_content_id:
        return ("id", id_key(ads_content_id))
    return ("unmapped", source_type, title, thumbnail)


def _clean_section(value: Any, numbers: tuple[str, ...]) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    section: dict[str, Any] = {name: p.number(value.get(name), default=None) for name in numbers}
    platforms = value.get("platforms")
    if isinstance(platforms, list):
        section["platforms"] = p.str_list(platforms, max_items=12)
    return section


def leaderboard_rows(items: Any) -> list[LeaderboardRow]:
    """Snapshot items (the API's JSON as stored) as rows; anything malformed is skipped."""
    rows = []
    for position, item in enumerate(items if isinstance(items, list) else [], start=1):
        if not isinstance(item, dict):
            continue
        rank = p.integer(item.get("rank"))
        rows.append(
            LeaderboardRow(
                rank=rank if rank and rank > 0 else position,
                title=p.text(item.get("title"), 500),
                thumbnail_url=p.url(item.get("thumbnailUrl")),  # http(s) only
                ads_content_id=p.text(item.get("adsContentId"), 64),
                source_type=p.text(item.get("sourceType"), 32),
                source_id=p.text(item.get("sourceId"), 64),
                platform_post_id=p.text(item.get("platformPostId"), 64),
                metric_value=p.number(item.get("metricValue"), default=None),
                organic=_clean_section(
                    item.get("organic"), ("views", "engagementRate", "watchTimeMs")
                ),
                paid=_clean_section(item.get("paid"), ("spend", "conversions", "roas", "cpa")),
            )
        )
    rows.sort(key=lambda r: r.rank)
    return rows


def _scale_bars(rows: list[LeaderboardRow]) -> None:
    leader = max((r.metric_value or 0.0 for r in rows), default=0.0)
    for row in rows:
        value = row.metric_value or 0.0
        row.bar = round(max(0.0, min(100.0, value / leader * 100)), 1) if leader > 0 else 0.0


def _movements(rows: list[LeaderboardRow], previous_items: Any | None) -> None:
    """Rank movement and metric change of each row against the baseline's items."""
    if previous_items is None:  # nothing to compare with: no movement, not "all new"
        for row in rows:
            row.movement, row.delta, row.metric_change = MOVE_NONE, 0, None
        return
    before = {r.key: (r.rank, r.metric_value) for r in leaderboard_rows(previous_items)}
    for row in rows:
        old, old_value = before.get(row.key, (None, None))
        row.metric_change = (
            row.metric_value - old_value
            if row.metric_value is not None and old_value is not None
            else None
        )
        if old is None:
            row.movement, row.delta = MOVE_NEW, 0
        elif old > row.rank:
            row.movement, row.delta = MOVE_UP, old - row.rank
        elif old < row.rank:
            row.movement, row.delta = MOVE_DOWN, row.rank - old
        else:
            row.movement, row.delta = MOVE_SAME, 0


def leaderboard_baseline(
    *, snapshot: LeaderboardSnapshot, baseline: str = DEFAULT_BASELINE, now: datetime | None = None
) -> LeaderboardSnapshot | None:
    """The snapshot a board's movement is measured against (``vocabulary.BASELINES``).

    ``previous``: the one stored just before ``snapshot``. ``24h`` / ``7d``: the newest snapshot
    of the same board (project, metric, window, filters) fetched at or before that long before
    ``now``. Always older than ``snapshot`` (a board not refreshed for a day is not compared
    with itself), and None when nothing that old is stored.
    """
    older = LeaderboardSnapshot.objects.filter(
        project_id=snapshot.project_id,
        metric=snapshot.metric,
        window=snapshot.window,
        filters_key=snapshot.filters_key,
    ).filter(
        Q(fetched_at__lt=snapshot.fetched_at)
        | Q(fetched_at=snapshot.fetched_at, pk__lt=snapshot.pk)
    )
    age = BASELINE_AGES.get(baseline)
    if age is not None:
        older = older.filter(fetched_at__lte=(now or timezone.now()) - age)
    return older.order_by("-fetched_at", "-id").first()


@dataclass
class Leaderboard:
    snapshot: LeaderboardSnapshot | None
    previous: LeaderboardSnapshot | None
    rows: list[LeaderboardRow] = field(default_factory=list)
    limit: int = 25
    # A refresh that finds nothing new stores nothing, so the sync's own leaderboards may be
    # confirmed later than they were fetched: the project's last good sync says when.
    confirmed_at: datetime | None = None
    baseline: str = DEFAULT_BASELINE  # what ``previous`` is (vocabulary.BASELINES)


def latest_snapshots(queryset: QuerySet[LeaderboardSnapshot]) -> QuerySet[LeaderboardSnapshot]:
    """Only the newest snapshot of each (project, metric, window, filters_key)."""
    newest = LeaderboardSnapshot.objects.filter(
        project=OuterRef("project"),
        metric=OuterRef("metric"),
        window=OuterRef("window"),
        filters_key=OuterRef("filters_key"),
    ).order_by("-fetched_at", "-id")
    return queryset.filter(pk=Subquery(newest.values("pk")[:1]))


def _link_creatives(rows: list[LeaderboardRow], project_of: Callable[[LeaderboardRow], int]):
    """Link each row to its stored creative, matched on id key (seed 000 names a creative
    ``adc_…`` where ads-content names it bare): ``linked`` is set and ``ads_content_id``
    becomes the stored form, the one our URLs and the API's calls use."""
    wanted = {id_key(r.ads_content_id) for r in rows} - {""}
    if not wanted:
        return
    known = {
        (project_id, key): layers_id
        for project_id, key, layers_id in AdsContent.objects.filter(
            project_id__in={project_of(r) for r in rows}, key__in=wanted, is_gone=False
        ).values_list("project_id", "key", "layers_id")
    }
    for row in rows:
        stored = known.get((project_of(row), id_key(row.ads_content_id)))
        row.linked = stored is not None
        if stored is not None:
            row.ads_content_id = stored


def leaderboard_get(
    *,
    project: Project,
    metric: str,
    window: str,
    source_types: list[str] | None = None,
    platforms: list[str] | None = None,
    limit: int = 25,
    include_ineligible: bool = False,
    baseline: str = DEFAULT_BASELINE,
    now: datetime | None = None,
) -> Leaderboard:
    """The stored leaderboard for these controls, with rank movement and metric change against
    ``baseline`` (the snapshot before it, or the board as stored 24 hours or 7 days before
    ``now``: ``leaderboard_baseline``).

    A top-N list is a prefix of any longer list with the same filters, so a request for 10
    rows is served from the newest snapshot of 10 *or more* rows (the sync stores 25).
    """
    wanted = leaderboard_filters(
        source_types=source_types, platforms=platforms, include_ineligible=include_ineligible
    )
    candidates = latest_snapshots(
        LeaderboardSnapshot.objects.filter(project=project, metric=metric, window=window)
    ).only("pk", "filters", "filters_key", "fetched_at")
    best = None
    for candidate in candidates:
        filters = candidate.filters if isinstance(candidate.filters, dict) else {}
        rows_held = filters.get("limit", 25)
        rest = {k: v for k, v in filters.items() if k != "limit"}
        if rest != wanted or not isinstance(rows_held, int) or rows_held < limit:
            continue
        if best is None or (candidate.fetched_at, candidate.pk) > (best.fetched_at, best.pk):
            best = candidate
    if best is None:
        return Leaderboard(snapshot=None, previous=None, limit=limit)
    if baseline not in BASELINES:
        baseline = DEFAULT_BASELINE
    if baseline == DEFAULT_BASELINE:  # the board and the one before it, in one query
        latest_two = list(
            LeaderboardSnapshot.objects.filter(
                project=project, metric=metric, window=window, filters_key=best.filters_key
            ).order_by("-fetched_at", "-id")[:2]
        )
        snapshot = latest_two[0]
        previous = latest_two[1] if len(latest_two) > 1 else None
    else:
        snapshot = LeaderboardSnapshot.objects.get(pk=best.pk)
        previous = leaderboard_baseline(snapshot=snapshot, baseline=baseline, now=now)
    rows = leaderboard_rows(snapshot.items)[:limit]
    _movements(rows, previous.items if previous else None)
    _scale_bars(rows)
    _link_creatives(rows, lambda row: project.pk)
    confirmed_at = None
    synced_board = not snapshot.filters_key and (metric, window) in leaderboard_configured()
    synced_at = project.last_sync_ok_at
    if synced_board and synced_at and synced_at - snapshot.fetched_at > timedelta(minutes=1):
        confirmed_at = synced_at
    return Leaderboard(
        snapshot=snapshot,
        previous=previous,
        rows=rows,
        limit=limit,
        confirmed_at=confirmed_at,
        baseline=baseline,
    )


def leaderboard_agency(
    *, projects: QuerySet[Project], metric: str, window: str, limit: int = 25
) -> list[LeaderboardRow]:
    """Top creatives across ``projects`` from each one's newest default snapshot.

    Every stored item is ranked on its metric value (a cheap read of two fields); only the
    ``limit`` that make the list are cleaned into rows (50 projects store 1,250 items, the
    page shows 25).
    """
    snapshots = (
        latest_snapshots(
            LeaderboardSnapshot.objects.filter(
                project__in=projects, metric=metric, window=window, filters_key=""
            )
        )
        .select_related("project")
        .defer("raw", "project__raw")
    )
    candidates: list[tuple[tuple, dict, LeaderboardSnapshot]] = []
    for snapshot in snapshots:
        ranked = []
        items = snapshot.items if isinstance(snapshot.items, list) else []
        for position, item in enumerate(items, start=1):  # as leaderboard_rows numbers them
            if not isinstance(item, dict):
                continue
            value = p.number(item.get("metricValue"), default=None)
            if value is None:
                continue
            rank = p.integer(item.get("rank"))
            ranked.append((rank if rank and rank > 0 else position, value, item))
        ranked.sort(key=lambda entry: entry[0])  # each project's own order, as shown there
        project = snapshot.project
        for rank, value, item in ranked:
            # Highest value first; ties keep each project's own order (the API's tie-break).
            candidates.append(((-(value or 0.0), project.name, project.pk, rank), item, snapshot))
    candidates.sort(key=lambda entry: entry[0])
    rows: list[LeaderboardRow] = []
    for key, item, snapshot in candidates[:limit]:
        row = leaderboard_rows([item])[0]
        row.project, row.snapshot, row.project_rank = snapshot.project, snapshot, key[3]
        rows.append(row)
    for position, row in enumerate(rows, start=1):
        row.rank, row.movement = position, MOVE_SAME
    _scale_bars(rows)
    _link_creatives(rows, lambda row: row.project.pk)
    return rows


@dataclass
class SourceMixes:
    """The ``sourceType`` mixes Layers has answered and declined for one metric; a mix is a
    sorted tuple of source types, ``()`` for none given (every source)."""

    answered: list[tuple[str, ...]] = field(default_factory=list)
    declined: list[tuple[str, ...]] = field(default_factory=list)


def leaderboard_source_mixes(*, metric: str, limit: int = 500) -> SourceMixes:
    """Which source mixes Layers answers and declines for ``metric``, learned from the newest
    stored answer of each board (every project, window and filter; newest first, the newest
    answer for a mix wins). A 422 declines a mix, not a project (REFERENCE 8.8); which mixes,
    the docs and the sandbox's two dialects disagree, so none is assumed here."""
    answers = (
        latest_snapshots(LeaderboardSnapshot.objects.filter(metric=metric))
        .order_by("-fetched_at", "-id")
        .values_list("filters", "declined")[:limit]
    )
    seen: dict[tuple[str, ...], bool] = {}
    for filters, declined in answers:
        sources = filters.get("sourceType") if isinstance(filters, dict) else None
        mix = tuple(sorted(v for v in sources if isinstance(v, str))) if sources else ()
        seen.setdefault(mix, bool(declined))
    return SourceMixes(
        answered=sorted(mix for mix, declined in seen.items() if not declined),
        declined=sorted(mix for mix, declined in seen.items() if declined),
    )


@dataclass
class Appearance:
    snapshot: LeaderboardSnapshot
    rank: int
    metric_value: float | None

    @property
    def query(self) -> str:
        filters = self.snapshot.filters if isinstance(self.snapshot.filters, dict) else {}
        return leaderboard_query(
            metric=self.snapshot.metric, window=self.snapshot.window, filters=filters
        )


def creative_leaderboard_appearances(*, ads_content: AdsContent) -> list[Appearance]:
    """Where this creative ranks in the newest snapshot of each of its project's leaderboards."""
    snapshots = latest_snapshots(
        LeaderboardSnapshot.objects.filter(project_id=ads_content.project_id)
    ).order_by("metric", "window", "filters_key")
    found = []
    for snapshot in snapshots:
        for row in leaderboard_rows(snapshot.items):
            if same_id(row.ads_content_id, ads_content.layers_id):
                found.append(Appearance(snapshot, row.rank, row.metric_value))
                break
    return found


def project_leaderboards(*, project: Project) -> list[LeaderboardSnapshot]:
    """The newest snapshot of each leaderboard stored for a project (for the overview)."""
    snapshots = list(
        latest_snapshots(LeaderboardSnapshot.objects.filter(project=project))
        .only("pk", "metric", "window", "filters", "filters_key", "fetched_at")
        .order_by("metric", "window", "filters_key")
    )
    for snapshot in snapshots:
        snapshot.query = leaderboard_query(
            metric=snapshot.metric,
            window=snapshot.window,
            filters=snapshot.filters if isinstance(snapshot.filters, dict) else {},
        )
    return snapshots


def leaderboard_query(*, metric: str, window: str, filters: dict[str, Any]) -> str:
    """The leaderboard page's query string for a stored snapshot's filters."""
    params: list[tuple[str, Any]] = [("metric", metric), ("window", window)]
    for name in ("sourceType", "platform"):
        values = filters.get(name)
        if isinstance(values, list):
            params.extend((name, v) for v in values if isinstance(v, str))
    if isinstance(filters.get("limit"), int):
        params.append(("limit", filters["limit"]))
    if filters.get("includeIneligible") is True:
        params.append(("includeIneligible", "on"))
    return urlencode(params)


# --- the project overview ------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectStats:
    content_count: int
    scored_count: int
    eligible_count: int
    override_count: int
    included_low: int
    excluded_high: int


def project_stats(*, project: Project) -> ProjectStats:
    """Counts for the overview page, in two queries whatever the size of the project."""
    ads = AdsContent.objects.filter(project=project, is_gone=False).aggregate(
        scored=Count("pk"),
        eligible=Count("pk", filter=Q(is_eligible=True)),
        overrides=Count("pk", filter=~Q(override="")),
        included_low=Count(
            "pk", filter=Q(override="include", organic_score__lt=ELIGIBILITY_THRESHOLD)
        ),
        excluded_high=Count(
            "pk", filter=Q(override="exclude", organic_score__gte=ELIGIBILITY_THRESHOLD)
        ),
    )
    content = ContentContainer.objects.filter(project=project, is_gone=False).count()
    return ProjectStats(
        content_count=content,
        scored_count=ads["scored"],
        eligible_count=ads["eligible"],
        override_count=ads["overrides"],
        included_low=ads["included_low"],
        excluded_high=ads["excluded_high"],
    )
