"""Leaderboards on demand: a board beyond the configured ones is fetched when someone looks,
kept with its age, and evicted when nobody has looked for a while (issue 14).

The sync keeps the configured boards (``LAYERS_LEADERBOARDS``, default filters). Any other
combination of the leaderboard page's controls is a ``LeaderboardDemand``: the page records
that someone looked (at most once a minute per combination), and from there:

* **First view, nothing stored.** The board is fetched in the request, within the key's
  shared rate budget (``max_wait=LAYERS_INTERACTIVE_MAX_WAIT``: the client raises
  ``LayersBusy`` rather than keep a person waiting). Busy: the fetch is queued as a background
  task and the page polls until the snapshot is there. Another failure: the page says so at
  once and the next try waits ``RETRY_FAILED_AFTER`` (a dead API costs one attempt a minute,
  not one per view). One top-performers call per board; a board asked for with fewer rows
  than the API's default is fetched with the default (25), which then serves every shorter
  list too.
* **Cached.** The page shows the newest snapshot with the time Layers last answered for it
  (an unchanged answer stores no snapshot, so the demand's ``last_fetched_at`` counts too).
  Older than the boards' target (``projects.freshness.BOARDS``) and not configured: a
  background refresh is queued. ``refresh_queued_at`` is the pending-work record: the task
  framework does not de-duplicate, so a refresh is queued only by the request that sets it
  (one conditional UPDATE), and cleared when the task ends; one no worker ran is queued
  again after ``PENDING_EXPIRY``.
* **Declined.** A 422 is an answer (``leaderboard_fetch``): stored as a declined snapshot
  and explained with the API's words; which source mixes the API refuses is learned from
  those answers (``selectors.leaderboard_source_mixes``), never assumed: the docs and the two
  sandbox dialects disagree.
* **Eviction.** ``leaderboard_demand_evict`` deletes each demand not viewed for
  ``LAYERS_BOARD_DEMAND_DAYS`` with the snapshots of its combination, except a configured
  board's; the sync's retention calls it (``sync.services.retention``).

The agency board is built locally from each project's newest default snapshot of a metric
and window; ``leaderboard_agency_show`` makes sure every visible project has one, the same
way (fetched in the request while the interactive budget lasts, the rest queued).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from creatives.models import LeaderboardDemand, LeaderboardSnapshot
from creatives.selectors import (
    Leaderboard,
    LeaderboardRow,
    SourceMixes,
    latest_snapshots,
    leaderboard_agency,
    leaderboard_get,
    leaderboard_source_mixes,
)
from creatives.services import (
    filters_key,
    leaderboard_configured,
    leaderboard_fetch,
    leaderboard_filters,
    leaderboard_store,
)
from creatives.vocabulary import DEFAULT_BASELINE
from layersadmin.layers import LayersBusy, LayersClient, LayersError, get_client
from projects.freshness import BOARDS
from projects.models import Project

logger = logging.getLogger(__name__)

DEMAND_WRITE_EVERY = timedelta(minutes=1)  # last_viewed_at is written at most this often
PENDING_EXPIRY = timedelta(minutes=15)  # a queued refresh no worker ran is queued again
RETRY_FAILED_AFTER = timedelta(minutes=1)  # a failed first fetch is not retried sooner
API_DEFAULT_LIMIT = 25  # top-performers' default `limit` (REFERENCE 4)

# What the page says about the board (BoardView.state).
FRESH, STALE, FETCHED, QUEUED, FAILED, NO_KEY = (
    "fresh",
    "stale",
    "fetched",
    "queued",
    "failed",
    "no_key",
)


def board_is_configured(*, metric: str, window: str, key: str) -> bool:
    """A board the sync keeps (``LAYERS_LEADERBOARDS`` with default filters): never evicted."""
    return not key and (metric, window) in leaderboard_configured()


def board_fetch_filters(
    *,
    source_types: list[str] | None,
    platforms: list[str] | None,
    limit: int | None,
    include_ineligible: bool,
) -> dict[str, Any]:
    """The canonical filters a board is fetched with: fewer rows than the API's default are
    fetched as the default (a top-N list is a prefix of a longer one: one snapshot serves
    every shorter list)."""
    return leaderboard_filters(
        source_types=source_types,
        platforms=platforms,
        limit=limit if limit and limit > API_DEFAULT_LIMIT else None,
        include_ineligible=include_ineligible,
    )


# --- recording demand ----------------------------------------------------------------------------


def leaderboard_demand_seen(
    *, project: Project, metric: str, window: str, filters: dict[str, Any], now: datetime
) -> LeaderboardDemand:
    """The demand for this combination, created or its ``last_viewed_at`` moved to ``now``
    (written at most once a minute: a busy page does not write on every view)."""
    key = filters_key(filters)
    lookup = {"project": project, "metric": metric, "window": window, "filters_key": key}
    demand = LeaderboardDemand.objects.filter(**lookup).first()
    if demand is None:
        try:
            with transaction.atomic():
                return LeaderboardDemand.objects.create(
                    **lookup, filters=filters, last_viewed_at=now
                )
        except IntegrityError:  # another request created it first
            demand = LeaderboardDemand.objects.get(**lookup)
    if now - demand.last_viewed_at >= DEMAND_WRITE_EVERY:
        LeaderboardDemand.objects.filter(pk=demand.pk).update(last_viewed_at=now)
        demand.last_viewed_at = now
    demand.project = project
    return demand


def _agency_demands_seen(
    *, projects: list[Project], metric: str, window: str, now: datetime
) -> dict[int, LeaderboardDemand]:
    """Demands for these projects' default board of ``metric``/``window``, in at most three
    queries whatever the number of projects (read; create the missing; touch the old)."""
    found = {
        demand.project_id: demand
        for demand in LeaderboardDemand.objects.filter(
            project__in=projects, metric=metric, window=window, filters_key=""
        )
    }
    missing = [
        LeaderboardDemand(project=project, metric=metric, window=window, last_viewed_at=now)
        for project in projects
        if project.pk not in found
    ]
    if missing:
        LeaderboardDemand.objects.bulk_create(missing, ignore_conflicts=True)
        found.update(
            (demand.project_id, demand)
            for demand in LeaderboardDemand.objects.filter(
                project__in=[d.project for d in missing],
                metric=metric,
                window=window,
                filters_key="",
            )
        )
    old = [d.pk for d in found.values() if now - d.last_viewed_at >= DEMAND_WRITE_EVERY]
    if old:
        LeaderboardDemand.objects.filter(pk__in=old).update(last_viewed_at=now)
    by_pk = {project.pk: project for project in projects}
    for demand in found.values():
        demand.project = by_pk[demand.project_id]
        if demand.pk in old:
            demand.last_viewed_at = now
    return found


# --- fetching, now or queued ------------------------------------------------------------------


def leaderboard_demand_fetch(
    *,
    demand: LeaderboardDemand,
    client: LayersClient | None = None,
    max_wait: float | None = None,
) -> tuple[LeaderboardSnapshot, bool]:
    """Fetch the demanded board and store it (``leaderboard_fetch``, ``leaderboard_store``);
    the demand records when Layers answered, or why it did not. ``LayersBusy`` (nothing was
    sent) records nothing: it is no failure of this board. Raises what the client raises."""
    try:
        answer = leaderboard_fetch(
            client=client or get_client(),
            project_id=demand.project.layers_id,
            metric=demand.metric,
            window=demand.window,
            filters=demand.filters if isinstance(demand.filters, dict) else {},
            max_wait=max_wait,
        )
    except LayersBusy:
        raise
    except LayersError as exc:
        failed = {"last_error": _failure_text(exc), "last_error_at": timezone.now()}
        LeaderboardDemand.objects.filter(pk=demand.pk).update(**failed)
        for name, value in failed.items():
            setattr(demand, name, value)
        raise
    snapshot, created = leaderboard_store(
        project=demand.project,
        metric=demand.metric,
        window=demand.window,
        filters=demand.filters if isinstance(demand.filters, dict) else {},
        answer=answer,
    )
    done = {"last_fetched_at": timezone.now(), "last_error": "", "last_error_at": None}
    LeaderboardDemand.objects.filter(pk=demand.pk).update(**done)
    for name, value in done.items():
        setattr(demand, name, value)
    return snapshot, created


def _failure_text(exc: LayersError) -> str:
    return f"{exc.message} (code {exc.code}, request {exc.request_id or 'none'})"[:2000]


def leaderboard_demand_queue(*, demand: LeaderboardDemand, now: datetime) -> bool:
    """Queue a background fetch of the demanded board unless one is pending. True when this
    call queued it. The claim (one conditional UPDATE) and the task row commit together, so
    two views at once queue one task."""
    from creatives.tasks import leaderboard_refresh_task  # the task calls back into here

    claim = LeaderboardDemand.objects.filter(pk=demand.pk).filter(
        Q(refresh_queued_at__isnull=True) | Q(refresh_queued_at__lt=now - PENDING_EXPIRY)
    )
    runs_now = _runs_in_process(leaderboard_refresh_task)
    # An in-process backend runs the task inside enqueue: no transaction around it then.
    with contextlib.nullcontext() if runs_now else transaction.atomic():
        if not claim.update(refresh_queued_at=now):
            return False
        leaderboard_refresh_task.enqueue(demand_id=demand.pk)
    demand.refresh_queued_at = now
    if runs_now:
        demand.refresh_from_db()
    return True


def _runs_in_process(task) -> bool:
    from django_tasks.backends.immediate import ImmediateBackend

    return isinstance(task.get_backend(), ImmediateBackend)


def leaderboard_demand_refresh(*, demand_id: int) -> dict[str, Any]:
    """The background fetch (``creatives.tasks``): fetch and store the board, waiting for the
    rate budget as long as it takes, then clear the pending mark whatever happened."""
    demand = LeaderboardDemand.objects.select_related("project").filter(pk=demand_id).first()
    if demand is None:
        return {"demand_id": demand_id, "status": "gone"}  # evicted meanwhile
    summary: dict[str, Any] = {"demand_id": demand_id, "project_id": demand.project.layers_id}
    try:
        snapshot, created = leaderboard_demand_fetch(demand=demand)
    except LayersError as exc:
        summary.update(status="failed", code=exc.code)
    else:
        status = "declined" if snapshot.declined else "stored" if created else "unchanged"
        summary.update(status=status)
    finally:
        LeaderboardDemand.objects.filter(pk=demand_id).update(refresh_queued_at=None)
    return summary


def _pending(demand: LeaderboardDemand, now: datetime) -> bool:
    queued = demand.refresh_queued_at
    return queued is not None and now - queued < PENDING_EXPIRY


def _checked_at(board: Leaderboard, demand: LeaderboardDemand | None) -> datetime | None:
    """When Layers last answered for the board shown: its snapshot, a later unchanged answer
    to the demand, or (a configured board) the sync that found it unchanged."""
    if board.snapshot is None:
        return None
    moments = [board.snapshot.fetched_at, board.confirmed_at]
    if demand is not None and demand.filters_key == board.snapshot.filters_key:
        moments.append(demand.last_fetched_at)
    return max(m for m in moments if m is not None)


# --- the project page -------------------------------------------------------------------------


@dataclass
class BoardView:
    """The leaderboard page's board and what to say about where it stands."""

    board: Leaderboard
    state: str
    checked_at: datetime | None = None
    target: timedelta = BOARDS.target
    refresh_queued: bool = False  # a background fetch is pending
    configured: bool = False  # the sync keeps it
    retry_after: int = 0  # seconds, when Layers was busy
    error: str = ""  # why it could not be fetched, in plain words with the API's code
    created: bool = False  # fetched in this request and stored as a new snapshot
    mixes: SourceMixes | None = None  # what Layers answered and declined for this metric

    @property
    def target_minutes(self) -> int:
        return int(self.target.total_seconds() // 60)

    @property
    def polls(self) -> bool:
        """Nothing to show yet, but a fetch is on its way: the page asks again."""
        return self.board.snapshot is None and self.refresh_queued


def leaderboard_show(
    *,
    project: Project,
    metric: str,
    window: str,
    source_types: list[str] | None = None,
    platforms: list[str] | None = None,
    limit: int = API_DEFAULT_LIMIT,
    include_ineligible: bool = False,
    fetch: bool = True,
    client: LayersClient | None = None,
    now: datetime | None = None,
    baseline: str = DEFAULT_BASELINE,
) -> BoardView:
    """The board for these controls as the page shows it, fetched first if nothing is stored
    (or queued when Layers is busy), a refresh queued when it is older than its target, and
    the view recorded as demand. At most one top-performers call, only on a first view.
    ``fetch=False`` (the refresh button's answer, or controls the form corrected) only
    reads. Movement is measured against ``baseline`` (``selectors.leaderboard_get``)."""
    now = now or timezone.now()
    controls = {
        "metric": metric,
        "window": window,
        "source_types": source_types,
        "platforms": platforms,
        "limit": limit,
        "include_ineligible": include_ineligible,
    }
    board = leaderboard_get(project=project, baseline=baseline, now=now, **controls)
    filters = (
        board.snapshot.filters
        if board.snapshot is not None and isinstance(board.snapshot.filters, dict)
        else board_fetch_filters(
            source_types=source_types,
            platforms=platforms,
            limit=limit,
            include_ineligible=include_ineligible,
        )
    )
    demand = leaderboard_demand_seen(
        project=project, metric=metric, window=window, filters=filters, now=now
    )
    view = BoardView(
        board=board,
        state=FRESH,
        configured=board_is_configured(metric=metric, window=window, key=demand.filters_key),
    )
    if board.snapshot is None and fetch:
        _first_view(view, demand, controls, project=project, client=client, now=now)
        view.board.baseline = baseline  # a first view has no earlier snapshot to compare with
    view.checked_at = _checked_at(view.board, demand)
    view.refresh_queued = view.refresh_queued or _pending(demand, now)
    if view.state == FRESH and view.checked_at and now - view.checked_at > view.target:
        view.state = STALE
        # The sync refreshes the configured boards; the others are refreshed on demand.
        if not view.configured and fetch:
            leaderboard_demand_queue(demand=demand, now=now)
            view.refresh_queued = _pending(demand, now)
    if view.board.snapshot is not None and view.board.snapshot.declined:
        view.mixes = leaderboard_source_mixes(metric=metric)
    return view


def _first_view(
    view: BoardView,
    demand: LeaderboardDemand,
    controls: dict[str, Any],
    *,
    project: Project,
    client: LayersClient | None,
    now: datetime,
) -> None:
    if _pending(demand, now):
        view.state, view.refresh_queued = QUEUED, True
        return
    if demand.last_error_at and now - demand.last_error_at < RETRY_FAILED_AFTER:
        view.state, view.error = FAILED, demand.last_error
        return
    if not settings.LAYERS_API_KEY:
        view.state = NO_KEY
        return
    try:
        _snapshot, view.created = leaderboard_demand_fetch(
            demand=demand, client=client, max_wait=settings.LAYERS_INTERACTIVE_MAX_WAIT
        )
    except LayersBusy as exc:
        view.state, view.retry_after = QUEUED, exc.retry_after or 0
        leaderboard_demand_queue(demand=demand, now=now)
        view.refresh_queued = _pending(demand, now)
        return
    except LayersError as exc:
        view.state, view.error = FAILED, _failure_text(exc)
        return
    view.state = FETCHED
    view.board = leaderboard_get(project=project, **controls)


def leaderboard_refresh_now(
    *,
    project: Project,
    metric: str,
    window: str,
    source_types: list[str] | None = None,
    platforms: list[str] | None = None,
    limit: int = API_DEFAULT_LIMIT,
    include_ineligible: bool = False,
    max_wait: float | None = None,
    client: LayersClient | None = None,
) -> tuple[LeaderboardSnapshot, bool]:
    """ "Refresh from Layers": fetch the board now and store it, recorded as demand (a click
    is a view). Raises what the client raises (``LayersBusy`` included: nothing queued, the
    person asked for now)."""
    filters = board_fetch_filters(
        source_types=source_types,
        platforms=platforms,
        limit=limit,
        include_ineligible=include_ineligible,
    )
    demand = leaderboard_demand_seen(
        project=project, metric=metric, window=window, filters=filters, now=timezone.now()
    )
    return leaderboard_demand_fetch(demand=demand, client=client, max_wait=max_wait)


# --- the agency page ----------------------------------------------------------------------------


@dataclass
class AgencyView:
    """The agency board and what to say about the projects it could not include yet."""

    rows: list[LeaderboardRow]
    projects: int = 0  # visible projects that could have a board
    fetched: int = 0  # boards fetched in this request
    queued: int = 0  # projects whose board is on its way (background)
    failed: list[str] = field(default_factory=list)  # project names Layers did not answer for
    declined: LeaderboardSnapshot | None = None  # Layers declines this metric and window
    stale: int = 0  # boards older than the target, refresh queued
    mixes: SourceMixes | None = None
    target: timedelta = BOARDS.target

    @property
    def target_minutes(self) -> int:
        return int(self.target.total_seconds() // 60)

    @property
    def polls(self) -> bool:
        return self.queued > 0


def leaderboard_agency_show(
    *,
    projects: QuerySet[Project],
    metric: str,
    window: str,
    limit: int = API_DEFAULT_LIMIT,
    fetch: bool = True,
    client: LayersClient | None = None,
    now: datetime | None = None,
) -> AgencyView:
    """The agency board, with every visible active project's default board of ``metric`` and
    ``window`` stored first: the missing ones fetched in this request while the interactive
    budget (``LAYERS_INTERACTIVE_MAX_WAIT`` in all) lasts, the rest queued; a declined answer
    ends the fetching (Layers declines a metric for a source mix, not for a project).
    Boards outside the configuration are demand like the project page's, refreshed when
    older than their target."""
    now = now or timezone.now()
    if not fetch:
        rows = leaderboard_agency(projects=projects, metric=metric, window=window, limit=limit)
        return AgencyView(rows=rows)
    configured = (metric, window) in leaderboard_configured()
    active = list(projects.filter(status=Project.Status.ACTIVE).order_by("name", "pk"))
    newest = {
        project_id: (fetched_at, declined)
        for project_id, fetched_at, declined in latest_snapshots(
            LeaderboardSnapshot.objects.filter(
                project__in=active, metric=metric, window=window, filters_key=""
            )
        ).values_list("project_id", "fetched_at", "declined")
    }
    missing = [project for project in active if project.pk not in newest]
    # The sync keeps configured boards: demand is recorded only where the page must act.
    wanted = active if not configured else missing
    demands = _agency_demands_seen(projects=wanted, metric=metric, window=window, now=now)
    view = AgencyView(rows=[], projects=len(active))
    declined = any(was_declined for _at, was_declined in newest.values())
    can_fetch = bool(settings.LAYERS_API_KEY) and bool(missing) and not declined
    client = client or (get_client() if can_fetch else None)
    deadline = time.monotonic() + settings.LAYERS_INTERACTIVE_MAX_WAIT
    busy = False
    for project in missing if can_fetch else []:
        demand = demands[project.pk]
        name = project.name or project.layers_id
        if declined:
            break  # declined for the mix: every other project's board would be too
        if _pending(demand, now):
            view.queued += 1
        elif demand.last_error_at and now - demand.last_error_at < RETRY_FAILED_AFTER:
            view.failed.append(name)
        elif busy or time.monotonic() >= deadline:
            view.queued += int(leaderboard_demand_queue(demand=demand, now=now))
        else:
            try:
                snapshot, _created = leaderboard_demand_fetch(
                    demand=demand, client=client, max_wait=deadline - time.monotonic()
                )
            except LayersBusy:
                busy = True
                view.queued += int(leaderboard_demand_queue(demand=demand, now=now))
            except LayersError:
                view.failed.append(name)
            else:
                view.fetched += 1
                declined = snapshot.declined
    if not configured:
        for project_id, (fetched_at, _declined) in newest.items():
            demand = demands[project_id]
            checked = max(fetched_at, demand.last_fetched_at or fetched_at)
            if now - checked > BOARDS.target:
                view.stale += 1
                leaderboard_demand_queue(demand=demand, now=now)
    view.rows = leaderboard_agency(projects=projects, metric=metric, window=window, limit=limit)
    if declined and not view.rows:
        view.declined = (
            latest_snapshots(
                LeaderboardSnapshot.objects.filter(
                    project__in=active, metric=metric, window=window, filters_key="", declined=True
                )
            )
            .order_by("-fetched_at", "-id")
            .first()
        )
        view.mixes = leaderboard_source_mixes(metric=metric)
    return view


# --- eviction -----------------------------------------------------------------------------------


def leaderboard_demand_evict(
    *, now: datetime | None = None, project: Project | None = None
) -> tuple[int, int]:
    """Delete every demand (of ``project``, or all) nobody has viewed for
    ``LAYERS_BOARD_DEMAND_DAYS``, with the snapshots of its combination; a configured board's
    snapshots are never deleted. Returns ``(demands, snapshots)`` deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.LAYERS_BOARD_DEMAND_DAYS)
    demands = LeaderboardDemand.objects.filter(last_viewed_at__lt=cutoff)
    if project is not None:
        demands = demands.filter(project=project)
    combinations = list(demands.values_list("pk", "project_id", "metric", "window", "filters_key"))
    if not combinations:
        return 0, 0
    snapshots_deleted = 0
    for start in range(0, len(combinations), 200):
        chunk = combinations[start : start + 200]
        where = Q(pk__in=[])
        for _pk, project_id, metric, window, key in chunk:
            if board_is_configured(metric=metric, window=window, key=key):
                continue
            where |= Q(project_id=project_id, metric=metric, window=window, filters_key=key)
        with transaction.atomic():
            deleted, _ = LeaderboardSnapshot.objects.filter(where).delete()
            LeaderboardDemand.objects.filter(pk__in=[c[0] for c in chunk]).delete()
        snapshots_deleted += deleted
    if snapshots_deleted:
        logger.info(
            "evicted %d leaderboard demands and %d snapshots", len(combinations), snapshots_deleted
        )
    return len(combinations), snapshots_deleted
