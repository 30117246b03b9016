"""The sync: mirror projects, content, scored creatives and leaderboards into the database.

Called by ``manage.py sync_layers``, the admin's "Sync selected projects now" and ``make
demo``. The rules it follows:

* **One spec per kind** (``specs``): its remote call, mapper, unique key, freshness target;
  the columns written and the mapping version are derived from the mapper. A row mapped by
  another version of its mapper is mapped again from its stored payload, at no API cost.
* **Each list is walked page by page** (``content_step``, ``projects_step``); each page is
  one transaction that diffs the payloads against the stored rows and bulk-upserts only what
  changed (``writer``). An interrupted run keeps every page it finished; the next run
  converges. Memory stays flat: one page at a time, plus the ids seen.
* **Content is incremental**: from the newest createdAt stored, moved back by a re-read
  window and to the oldest container still in flight; ``full`` re-reads everything.
  Scored creatives are walked whole each run; a ScoreSample when a score changes.
* **Ids are compared in normal form** (``layersadmin.layers.ids``) in every join; calls use
  the form the list returned.
* **Gone takes evidence**: a row one complete walk missed is "missing since …"; a second
  complete walk in a row that misses it, or a 404 on its GET, makes it gone (never deleted).
* A row written after a page was fetched (an override made through layersadmin while the
  sync ran) is newer than that page, and the page does not overwrite it.
* **One run per project at a time** (``sync.locks``); a project synced by a concurrent run
  after this run started is skipped, so ten workers do the work once.
* **Threads**: pages are fetched and mapped ahead, and boards fetched, on threads of their own
  (``prefetch``), each with its own client; only the caller's thread touches the database.
* **Failures are caught per project**: the run carries on, records them (``runs``), and ends
  ``partial``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from creatives.counts import project_counts_refresh
from layersadmin.layers import LayersClient, LayersError, get_client
from projects.models import Project
from sync.locks import sync_lock
from sync.services.boards_step import BoardsAhead
from sync.services.content_step import containers_step
from sync.services.creatives_step import creatives_step
from sync.services.projects_step import projects_step
from sync.services.retention import project_history_trim
from sync.services.runs import (
    ProgressCallback,
    SyncResult,
    TypeCounts,
    planner_statistics_refresh,
    record_error,
    run_beat,
    run_finish,
    run_start,
)
from sync.services.specs import (
    CONTAINERS,
    LEADERBOARDS,
    PROJECT_KINDS,
    SCORED_CREATIVES,
    MirrorSpec,
    full_walk_due,
)
from sync.signals import announce, project_synced, sync_run_finished

# A run without arguments goes on while work falls due, for up to this long.
RUN_FOR = timedelta(minutes=10)

__all__ = ["ProgressCallback", "SyncResult", "TypeCounts", "layers_sync"]

logger = logging.getLogger(__name__)


def layers_sync(
    *,
    project_ids: Iterable[str] | None = None,
    full: bool = False,
    trigger: str = "command",
    user=None,
    client: LayersClient | None = None,
    progress: ProgressCallback | None = None,
    due_only: bool = False,
) -> SyncResult:
    """Run one sync. ``project_ids`` limits it to those projects (Layers ids, any form).

    ``due_only`` (``sync_layers`` without arguments): each kind is read for a project only
    when its cadence says it is due (``specs.MirrorSpec.due``), the most urgent projects
    first (``most_urgent_first``). Otherwise every kind of every project is read.
    """
    project_ids = [pid for pid in (project_ids or []) if pid]
    own_client = client is None
    client = client or get_client()
    before = client.stats.snapshot()
    result = run_start(trigger=trigger, user=user, full=full, project_ids=project_ids)
    notify = progress or (lambda stage, project: None)
    try:
        client.ensure_tier()
        projects = projects_step(client, result, project_ids=project_ids, due_only=due_only)
        notify("projects", None)
        while True:
            if due_only:
                projects.sort(key=most_urgent_first)
            worked = False
            for project in projects:
                kinds = (
                    _due_kinds(project, result.run.started_at)
                    if due_only and not full
                    else PROJECT_KINDS
                )
                if not kinds:
                    continue
                _project_sync(client, result, project, full=full, kinds=kinds, due_only=due_only)
                notify("failed" if project.layers_id in result.failed else "project", project)
                run_beat(result)
                worked = True
            # Work that fell due while this run went on is done now, not at the next timer
            # tick: the wait for the tick is what would push content past its target.
            if not (due_only and worked and timezone.now() - result.run.started_at < RUN_FOR):
                break
            projects = list(Project.objects.filter(is_gone=False, pk__in=[p.pk for p in projects]))
    except LayersError as exc:
        record_error(result, "run", exc)
    except Exception as exc:  # the run must be recorded whatever happened
        logger.exception("sync run %s failed", result.run.pk)
        record_error(result, "run", exc)
    finally:
        run_finish(result, client, before)
        if own_client:
            client.close()
    if due_only and result.idle:
        # The timer starts a run every minute: one with nothing due leaves no record.
        result.run.delete()
    else:
        planner_statistics_refresh()
    # Every run, idle ones too: what the apps above derive from it (alerts: a project that
    # stopped syncing is noticed even when nothing was due).
    announce(sync_run_finished, result=result)
    return result


def _due_kinds(
    project: Project, run_started: datetime, kinds: tuple[MirrorSpec, ...] = PROJECT_KINDS
) -> tuple[MirrorSpec, ...]:
    """The kinds due for ``project`` now, less those this run has read already: a run reads
    each kind of a project at most once (a zero cadence means "every run", not "without
    end")."""
    now = timezone.now()
    return tuple(
        spec
        for spec in kinds
        if spec.due(project, now)
        and not ((read := getattr(project, spec.read_at)) and read >= run_started)
    )


def most_urgent_first(project: Project) -> tuple:
    """Earliest deadline first: never read before anything, then the project whose next
    kind runs out of freshness soonest (its read time plus its target). Ordering by the
    oldest read instead would put a project whose boards are 50 minutes old before one whose
    content is about to pass its 15 minutes."""
    deadlines = []
    for spec in PROJECT_KINDS:
        read_at = getattr(project, spec.read_at)
        if read_at is None:
            return (0, project.key)
        deadlines.append(read_at + spec.freshness)
    return (1, min(deadlines), project.key)


def _project_sync(
    client: LayersClient,
    result: SyncResult,
    project: Project,
    *,
    full: bool,
    kinds: tuple[MirrorSpec, ...] = PROJECT_KINDS,
    due_only: bool = False,
):
    lock_name = f"layers-sync:project:{project.layers_id}"
    with sync_lock(lock_name) as acquired:
        if not acquired:
            result.skipped.append(project.layers_id)
            return
        project.refresh_from_db()
        if due_only and not full:
            # What is still due now that we hold it (a concurrent run may just have read it).
            kinds = _due_kinds(project, result.run.started_at, kinds)
            if not kinds:
                result.skipped.append(project.layers_id)
                return
        elif project.last_sync_ok_at and project.last_sync_ok_at >= result.run.started_at:
            result.skipped.append(project.layers_id)  # a concurrent run just did it
            return
        started = timezone.now()
        _project_mark(project, last_sync_started_at=started)
        boards = BoardsAhead(client, project) if LEADERBOARDS in kinds else None
        written = result.rows_written
        failure: str | None = None
        try:
            if CONTAINERS in kinds:
                containers_step(client, result, project, full=full, lock_name=lock_name)
                _project_mark(project, content_read_at=started)
            if SCORED_CREATIVES in kinds:
                walk_all = full or not due_only or full_walk_due(project, started)
                if creatives_step(client, result, project, lock_name=lock_name, full=walk_all):
                    _project_mark(project, creatives_full_at=started)
                _project_mark(project, creatives_read_at=started)
                project_history_trim(project=project)
            if boards is not None:
                boards.store(result, project)
                _project_mark(project, boards_read_at=started)
        except Exception as exc:
            if not isinstance(exc, LayersError):
                logger.exception("sync of project %s failed", project.layers_id)
            record_error(result, f"project {project.layers_id}", exc)
            message = str(exc) if isinstance(exc, LayersError) else f"{type(exc).__name__}: {exc}"
            failure = message[:2000]
            _project_mark(project, last_sync_error=failure)
            result.failed.append(project.layers_id)
        finally:
            if boards is not None:
                boards.close()
            if result.rows_written != written:  # nothing written: nothing to derive again
                _refresh_derived(result, project)
        if failure is None:
            _project_mark(project, last_sync_ok_at=timezone.now(), last_sync_error="")
            result.synced.append(project.layers_id)
        # After every write of this project's sync (committed), still holding its lock, so
        # what the apps above derive from it (alerts) is derived once at a time per project.
        announce(
            project_synced, project=project, ok=failure is None, error=failure or "", result=result
        )


def _refresh_derived(result: SyncResult, project: Project) -> None:
    """What is derived from the mirrored rows, after a project sync that wrote any (a failed
    one may have written pages too): the creatives' display title and thumbnail, the
    project list's figures, then each creative's performance figures (its row's own, and
    its boards' for creatives new since a board was stored). A failure here is recorded
    and never hides the sync's own outcome."""
    from creatives.figures import creative_figures_refresh
    from creatives.services import creative_display_refresh

    try:
        creative_display_refresh(project=project)
        project_counts_refresh(project=project)
        creative_figures_refresh(project=project)
    except Exception as exc:
        logger.exception("derived fields of project %s failed", project.layers_id)
        record_error(result, f"project {project.layers_id} counts", exc)


def _project_mark(project: Project, **fields) -> None:
    Project.objects.filter(pk=project.pk).update(**fields)
