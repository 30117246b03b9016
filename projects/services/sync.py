"""The sync: mirror projects, content, scored creatives and leaderboards into the database.

Called by ``manage.py sync_layers``, the admin's "Sync selected projects now" and ``make
demo``. The rules it follows:

* Each list is walked page by page; each page is one transaction that diffs the payloads
  against the stored rows and bulk-upserts only what changed. An interrupted run keeps every
  page it finished; the next run converges. Memory stays flat: one page at a time, plus the
  ids seen (to mark what disappeared upstream as gone, never deleted).
* Content is incremental: ``since`` = newest createdAt stored minus an overlap, moved back to
  the oldest container that is not final yet (queued, processing), so those are re-read until
  they settle. ``full`` re-reads everything and marks missing containers gone.
* Ads-content has no incremental filter: a full scan each run; a ScoreSample when a score
  changes.
* A row written after a page was fetched (an override made through layersadmin while the
  sync ran) is newer than that page, and the page does not overwrite it.
* One run per project at a time (``projects.locks``); a project synced by a concurrent run
  after this run started is skipped, so ten workers do the work once.
* Failures are caught per project: the run carries on, records them, and ends ``partial``.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from creatives.mapping import ads_content_fields_from_api, container_fields_from_api
from creatives.models import (
    IN_FLIGHT_CONTAINER_STATUSES,
    AdsContent,
    ContentContainer,
    ScoreSample,
)
from layersadmin.layers import LayersClient, LayersError, Page, get_client
from layersadmin.layers import payload as p
from layersadmin.layers.errors import LayersAPIError
from layersadmin.layers.ids import id_key
from projects.locks import lease_renew, process_is_gone, sync_lock
from projects.mapping import project_fields_from_api
from projects.models import Project, SyncRun
from projects.services.counts import project_counts_refresh

logger = logging.getLogger(__name__)

CONTENT_OVERLAP = timedelta(minutes=10)
BATCH_SIZE = 500
STALE_RUN_AFTER = timedelta(minutes=30)
PROJECTS_LIST_LOCK = "layers-sync:projects"

# What each upsert writes on conflict: every field its mapper fills (derived from the mapper,
# never listed by hand, so a field added to a mapper is written on the next sync), plus the
# sync's bookkeeping. ``layers_id`` is written too: the list's form of the id is the one every
# call uses (layersadmin.layers.ids).
BOOKKEEPING = ("synced_at", "is_gone", "missing_since", "missed_walks")


def _columns(mapper: Callable[[dict[str, Any]], dict[str, Any]], *extra: str) -> list[str]:
    return [name for name in mapper({}) if name != "key"] + list(extra) + list(BOOKKEEPING)


PROJECT_FIELDS = _columns(project_fields_from_api)
CONTAINER_FIELDS = _columns(container_fields_from_api, "project")
ADS_FIELDS = _columns(ads_content_fields_from_api, "container")
# A project known from a GET only keeps the id form it has (GET may answer another, C13).
PROJECT_FIELDS_FROM_GET = [name for name in PROJECT_FIELDS if name != "layers_id"]
# A row missed by this many complete walks in a row is gone (one miss can be a rescore
# between two pages moving it past the cursor).
GONE_AFTER_MISSED_WALKS = 2
# How many rows missed for the first time get a GET to confirm them (projects, containers).
MISSING_LOOKUPS = 25


@dataclass
class TypeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0
    invalid: int = 0

    def add(self, other: TypeCounts) -> None:
        for name in ("created", "updated", "unchanged", "gone", "invalid"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def written(self) -> int:
        return self.created + self.updated + self.gone

    def as_dict(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "gone": self.gone,
            "invalid": self.invalid,
        }


@dataclass
class SyncResult:
    """What one sync did; ``run`` is the SyncRun row that records it."""

    run: SyncRun
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def count(self, kind: str) -> TypeCounts:
        return self.counts.setdefault(kind, TypeCounts())

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_written(self) -> int:
        return sum(c.written for c in self.counts.values())


ProgressCallback = Callable[[str, Project | None], None]


# --- entry point ------------------------------------------------------------------------------


def layers_sync(
    *,
    project_ids: Iterable[str] | None = None,
    full: bool = False,
    trigger: str = "command",
    user=None,
    client: LayersClient | None = None,
    progress: ProgressCallback | None = None,
) -> SyncResult:
    """Run one sync. ``project_ids`` limits it to those projects (Layers ids)."""
    project_ids = [pid for pid in (project_ids or []) if pid]
    own_client = client is None
    client = client or get_client()
    before = client.stats.snapshot()
    _abandon_stale_runs()
    run = SyncRun.objects.create(
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        trigger=trigger,
        triggered_by=user,
        full=full,
        project_ids=project_ids,
        host=socket.gethostname()[:255],
        pid=os.getpid(),
    )
    result = SyncResult(run=run)
    notify = progress or (lambda stage, project: None)
    try:
        client.ensure_tier()
        projects = _sync_projects(client, result, project_ids=project_ids)
        notify("projects", None)
        for project in projects:
            _sync_one_project(client, result, project, full=full)
            notify("project", project)
            SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now())
    except LayersError as exc:
        _record_error(result, "run", exc)
    except Exception as exc:  # the run must be recorded whatever happened
        logger.exception("sync run %s failed", run.pk)
        _record_error(result, "run", exc)
    finally:
        _finish_run(result, client, before)
        if own_client:
            client.close()
    return result


def _abandon_stale_runs() -> None:
    """A run whose process died stays 'running'; mark it abandoned once it stops beating, or
    at once when it ran on this host and its process is gone (killed)."""
    running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
    running.filter(heartbeat_at__lt=timezone.now() - STALE_RUN_AFTER).update(
        status=SyncRun.Status.ABANDONED, finished_at=timezone.now()
    )
    dead = [
        pk
        for pk, host, pid in running.values_list("pk", "host", "pid")
        if process_is_gone(host, pid)
    ]
    if dead:
        running.filter(pk__in=dead).update(
            status=SyncRun.Status.ABANDONED, finished_at=timezone.now()
        )


def _finish_run(result: SyncResult, client: LayersClient, before: dict[str, int]) -> None:
    after = client.stats.snapshot()
    run = result.run
    run.finished_at = timezone.now()
    run.heartbeat_at = run.finished_at
    run.counts = {kind: c.as_dict() for kind, c in result.counts.items()}
    run.api_calls = after["calls"] - before["calls"]
    run.retries = after["retries"] - before["retries"]
    run.throttled = after["throttled"] - before["throttled"]
    run.projects_synced = len(result.synced)
    run.projects_skipped = len(result.skipped)
    run.errors = result.errors[:200]
    run.error_count = len(result.errors)
    if not result.errors:
        run.status = SyncRun.Status.SUCCEEDED
    elif result.synced:
        run.status = SyncRun.Status.PARTIAL
    else:
        run.status = SyncRun.Status.FAILED
    # Only what this function set: projects_listed_at was written by an UPDATE during the run
    # (other workers read it), and a full save() of this stale instance would erase it.
    run.save(
        update_fields=[
            "finished_at",
            "heartbeat_at",
            "counts",
            "api_calls",
            "retries",
            "throttled",
            "projects_synced",
            "projects_skipped",
            "errors",
            "error_count",
            "status",
        ]
    )


def _record_error(result: SyncResult, where: str, exc: BaseException) -> None:
    entry = {"where": where, "error": type(exc).__name__, "message": str(exc)[:1000]}
    if isinstance(exc, LayersError):
        entry.update({"code": exc.code, "request_id": exc.request_id})
    logger.warning("sync: %s: %s", where, entry["message"])
    result.errors.append(entry)


# --- projects -----------------------------------------------------------------------------------


def _sync_projects(
    client: LayersClient, result: SyncResult, *, project_ids: list[str]
) -> list[Project]:
    counts = result.count("projects")
    if project_ids:
        keys = [id_key(pid) for pid in project_ids]
        stored = dict(Project.objects.filter(key__in=keys).values_list("key", "layers_id"))
        for project_id, key in zip(project_ids, keys, strict=True):
            # Call with the form the list gave us when we have it (C13).
            _project_lookup(client, counts, stored.get(key, project_id))
        return list(Project.objects.filter(key__in=keys, is_gone=False))

    # The list is walked by one worker at a time; the others wait, then use its result.
    with sync_lock(PROJECTS_LIST_LOCK, wait=600) as acquired:
        listed_since_start = SyncRun.objects.filter(
            projects_listed_at__gte=result.run.started_at
        ).exists()
        if acquired and not listed_since_start:
            seen: set[str] = set()
            # The default list hides archived projects (seed 003); ask for them too. The
            # ``status`` filter is REFERENCE's, not a seed's: an API that refuses it (422)
            # leaves archived projects to the GET of every project that drops out below.
            for status in (None, "archived"):
                try:
                    for page in client.projects_pages(status=status):
                        counts.add(_upsert_projects(page.items, fetched_at=page.fetched_at))
                        seen.update(id_key(item.get("id")) for item in page.items)
                except LayersAPIError as exc:
                    if status is None or exc.code != "VALIDATION":
                        raise
                    logger.info("sync: the projects list refuses status=archived: %s", exc)
            gone = _projects_missing(client, counts, seen)  # its GETs count into counts too
            counts.gone += gone
            SyncRun.objects.filter(pk=result.run.pk).update(projects_listed_at=timezone.now())
    return list(Project.objects.filter(is_gone=False).order_by("layers_id"))


def _projects_missing(client: LayersClient, counts: TypeCounts, seen: set[str]) -> int:
    """Projects the complete walk did not return: each is looked up with GET first (an
    archived project drops out of the default list, seed 003). It answers: the row is stored
    from that answer (archived, or whatever it says). 404: gone. No answer: counted as a
    missed walk, gone after ``GONE_AFTER_MISSED_WALKS``."""
    missing = [
        (key, layers_id)
        for key, layers_id in Project.objects.filter(is_gone=False).values_list("key", "layers_id")
        if key not in seen
    ]
    confirmed = set(seen)
    for key, layers_id in missing:
        try:
            if _project_lookup(client, counts, layers_id):
                confirmed.add(key)  # it exists: stored from the GET's answer
        except LayersError as exc:  # no verdict: this walk's miss counts
            logger.warning("sync: project %s is missing from the list: %s", layers_id, exc)
    return _mark_missing(Project.objects.all(), confirmed)


def _project_lookup(client: LayersClient, counts: TypeCounts, project_id: str) -> bool:
    """GET one project and store it; a 404 marks it gone. Returns whether it exists."""
    try:
        data = client.project_get(project_id)
    except LayersAPIError as exc:
        if exc.code != "NOT_FOUND":
            raise
        counts.gone += Project.objects.filter(key=id_key(project_id), is_gone=False).update(
            is_gone=True, synced_at=timezone.now()
        )
        return False
    counts.add(_upsert_projects([data], fetched_at=timezone.now(), from_get=True))
    return True


def _upsert_projects(
    items: list[dict[str, Any]], *, fetched_at: datetime, from_get: bool = False
) -> Any:
    """Write projects from a list page, or (``from_get``) from single-project GETs, whose id
    may come in another form (C13): the row is matched on its key and keeps its own form."""
    counts = _Counts()
    rows = _valid_rows(items, project_fields_from_api, counts)
    if not rows:
        return counts.result
    now = timezone.now()
    with transaction.atomic():
        existing = _existing(Project.objects.all(), rows.keys())
        to_write = []
        for key, fields in rows.items():
            old = existing.get(key)
            if from_get and old is not None:
                fields["layers_id"] = old["layers_id"]  # keep the list's form
            if _unchanged(old, fields, fetched_at):
                counts.result.unchanged += 1
                continue
            counts.count(old)
            to_write.append({**fields, **_SEEN, "synced_at": now})
        columns = PROJECT_FIELDS_FROM_GET if from_get else PROJECT_FIELDS
        _bulk_upsert(Project, to_write, ["key"], columns)
    return counts.result


# Written on every row a walk returned: it is not missing (any more).
_SEEN = {"is_gone": False, "missing_since": None, "missed_walks": 0}


# --- one project --------------------------------------------------------------------------------


def _sync_one_project(
    client: LayersClient, result: SyncResult, project: Project, *, full: bool
) -> None:
    lock_name = f"layers-sync:project:{project.layers_id}"
    with sync_lock(lock_name) as acquired:
        if not acquired:
            result.skipped.append(project.layers_id)
            return
        project.refresh_from_db()
        if project.last_sync_ok_at and project.last_sync_ok_at >= result.run.started_at:
            result.skipped.append(project.layers_id)  # a concurrent run just did it
            return
        Project.objects.filter(pk=project.pk).update(last_sync_started_at=timezone.now())
        boards = _LeaderboardPrefetch(client, project)
        try:
            _sync_content(client, result, project, full=full, lock_name=lock_name)
            _sync_ads_content(client, result, project, lock_name=lock_name)
            _sync_leaderboards(boards, result, project)
        except LayersError as exc:
            _record_error(result, f"project {project.layers_id}", exc)
            Project.objects.filter(pk=project.pk).update(last_sync_error=str(exc)[:2000])
            return
        except Exception as exc:
            logger.exception("sync of project %s failed", project.layers_id)
            _record_error(result, f"project {project.layers_id}", exc)
            Project.objects.filter(pk=project.pk).update(
                last_sync_error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            return
        finally:
            boards.close()
            _refresh_derived(result, project)
        Project.objects.filter(pk=project.pk).update(
            last_sync_ok_at=timezone.now(), last_sync_error=""
        )
        result.synced.append(project.layers_id)


def _refresh_derived(result: SyncResult, project: Project) -> None:
    """What is derived from the mirrored rows, after every project sync (a failed one may
    have written pages too): the creatives' display title and thumbnail, then the project
    list's figures. A failure here is recorded and never hides the sync's own outcome."""
    from creatives.services import creative_display_refresh

    try:
        creative_display_refresh(project=project)
        project_counts_refresh(project=project)
    except Exception as exc:
        logger.exception("derived fields of project %s failed", project.layers_id)
        _record_error(result, f"project {project.layers_id} counts", exc)


def _content_since(project: Project, *, full: bool) -> datetime | None:
    """Where an incremental content walk starts (createdAt, inclusive), or None for all.

    Two things move it back from the newest createdAt stored: a rolling re-read window
    (``LAYERS_CONTENT_REREAD_DAYS``, at least ``CONTENT_OVERLAP`` for late writes at the
    boundary), so approval changes of containers created within it arrive at the next run;
    and the oldest container still in flight (queued, processing, generating: only those, so
    an unknown status never pins it). Older approval changes arrive with the nightly
    ``--full`` (README: worst-case staleness).
    """
    if full or project.content_watermark is None:
        return None
    # Measured back from the newest container stored, not from our clock: the API's clock
    # is the one createdAt is written in.
    since = project.content_watermark - max(
        CONTENT_OVERLAP, timedelta(days=settings.LAYERS_CONTENT_REREAD_DAYS)
    )
    oldest_open = ContentContainer.objects.filter(
        project=project, is_gone=False, status__in=IN_FLIGHT_CONTAINER_STATUSES
    ).aggregate(oldest=Min("created_at"))["oldest"]
    if oldest_open is not None and oldest_open < since:
        since = oldest_open
    return since


def _sync_content(
    client: LayersClient, result: SyncResult, project: Project, *, full: bool, lock_name: str
) -> None:
    counts = result.count("containers")
    since = _content_since(project, full=full)
    newest = project.content_watermark
    seen: set[str] = set()
    keeper = _LeaseKeeper(lock_name)
    pages = client.content_pages(project.layers_id, since=p.iso(since) if since else None)
    writer = _writer(ContentContainer, ("key",), tuple(CONTAINER_FIELDS))
    mapped = _prefetched(
        pages, container_fields_from_api, _preparer(project, writer), ("created_at",)
    )
    for page, rows, invalid in mapped:
        page_counts, page_newest = _upsert_containers(project, page, rows)
        page_counts.invalid += invalid
        counts.add(page_counts)
        seen.update(id_key(item.get("id")) for item in page.items)
        if page_newest and (newest is None or page_newest > newest):
            newest = page_newest
        keeper.renew()
    # Pages come newest first, so the watermark moves only once the walk has reached its end:
    # moved after the first page of a walk that then failed, it would make every later
    # incremental run skip the older pages this one never read (lost rows until --full).
    if newest != project.content_watermark:
        Project.objects.filter(pk=project.pk).update(content_watermark=newest)
    if since is None:  # a complete walk: what it did not return is missing
        stored = ContentContainer.objects.filter(project=project)
        seen |= _containers_confirmed(client, stored, seen, counts)
        counts.gone += _mark_missing(stored, seen)


def _containers_confirmed(
    client: LayersClient, stored, seen: set[str], counts: TypeCounts
) -> set[str]:
    """Containers this walk missed for the first time, looked up with GET (a few per run):
    a 404 marks one gone at once (counted); one that answers is not missing. Returns those
    that answered."""
    first_misses = [
        (key, layers_id)
        for key, layers_id in stored.filter(is_gone=False, missed_walks=0).values_list(
            "key", "layers_id"
        )
        if key not in seen
    ][:MISSING_LOOKUPS]
    found: set[str] = set()
    for key, layers_id in first_misses:
        try:
            client.content_get(layers_id)
        except LayersAPIError as exc:
            if exc.code == "NOT_FOUND":
                counts.gone += stored.filter(key=key).update(
                    is_gone=True, missing_since=timezone.now(), synced_at=timezone.now()
                )
            continue
        except LayersError:
            continue
        found.add(key)
    return found


def _upsert_containers(
    project: Project, page: Page, rows: dict[str, dict[str, Any]] | None = None
) -> tuple[TypeCounts, datetime | None]:
    """Write one page of containers; ``rows`` is the page already mapped (by the prefetch)."""
    counts = _Counts()
    if rows is None:
        rows = _valid_rows(page.items, container_fields_from_api, counts, required=("created_at",))
    if not rows:
        return counts.result, None
    newest = max(fields["created_at"] for fields in rows.values())
    now = timezone.now()
    with transaction.atomic():
        existing = _existing(ContentContainer.objects.all(), rows.keys())
        to_create, to_write = [], []
        for key, fields in rows.items():
            old = existing.get(key)
            if _unchanged(old, fields, page.fetched_at):
                counts.result.unchanged += 1
                continue
            if old is not None and old["project_id"] != project.pk:
                counts.result.invalid += 1  # an id that belongs to another project: refuse it
                continue
            counts.count(old)
            (to_write if old else to_create).append(
                {**fields, **_SEEN, "project_id": project.pk, "synced_at": now}
            )
        _bulk_upsert(ContentContainer, to_create, ["key"], CONTAINER_FIELDS, new=True)
        _bulk_upsert(ContentContainer, to_write, ["key"], CONTAINER_FIELDS)
    return counts.result, newest


def _sync_ads_content(
    client: LayersClient, result: SyncResult, project: Project, *, lock_name: str
) -> None:
    counts = result.count("ads_content")
    seen: set[str] = set()
    keeper = _LeaseKeeper(lock_name)
    pages = client.ads_content_pages(project.layers_id)
    writer = _writer(AdsContent, ("project", "key"), tuple(ADS_FIELDS))
    mapped = _prefetched(pages, ads_content_fields_from_api, _preparer(project, writer))
    for page, rows, invalid in mapped:
        page_counts = _upsert_ads_content(project, page, rows)
        page_counts.invalid += invalid
        counts.add(page_counts)
        seen.update(id_key(item.get("adsContentId")) for item in page.items)
        keeper.renew()
    # Scored creatives have no single-row GET: only a second complete walk in a row confirms
    # that one is gone (a rescore between two pages can move a row past the cursor).
    counts.gone += _mark_missing(AdsContent.objects.filter(project=project), seen)


def _upsert_ads_content(
    project: Project, page: Page, rows: dict[str, dict[str, Any]] | None = None
) -> TypeCounts:
    """Write one page of scored creatives; ``rows`` is the page already mapped.

    Each is linked to its container by id key: seed 001's ``sourceId`` is bare where the
    content list's ``id`` is ``cnt_…``.
    """
    counts = _Counts()
    if rows is None:
        rows = _valid_rows(page.items, ads_content_fields_from_api, counts)
    if not rows:
        return counts.result
    now = timezone.now()
    source_keys = {id_key(f["source_id"]) for f in rows.values() if f["source_id"]}
    with transaction.atomic():
        containers = dict(
            ContentContainer.objects.filter(project=project, key__in=source_keys).values_list(
                "key", "pk"
            )
        )
        existing = _existing(
            AdsContent.objects.filter(project=project), rows.keys(), extra=("organic_score",)
        )
        to_create, to_write, rescored = [], [], []
        for key, fields in rows.items():
            old = existing.get(key)
            container_id = containers.get(id_key(fields["source_id"]))
            if _unchanged(old, fields, page.fetched_at, container_id=container_id):
                counts.result.unchanged += 1
                continue
            counts.count(old)
            if old is None or old["organic_score"] != fields["organic_score"]:
                rescored.append(key)
            (to_write if old else to_create).append(
                {
                    **fields,
                    **_SEEN,
                    "project_id": project.pk,
                    "container_id": container_id,
                    "synced_at": now,
                }
            )
        _bulk_upsert(AdsContent, to_create, ["project", "key"], ADS_FIELDS, new=True)
        _bulk_upsert(AdsContent, to_write, ["project", "key"], ADS_FIELDS)
        if rescored:
            _score_samples_insert(project.pk, rescored, observed_at=now)
    return counts.result


def _sync_leaderboards(client: Any, result: SyncResult, project: Project) -> None:
    from creatives.services import leaderboard_refresh

    counts = result.count("leaderboards")
    for pair in settings.LAYERS_LEADERBOARDS:
        metric, _, window = pair.partition(":")
        try:
            _snapshot, created = leaderboard_refresh(
                project=project, client=client, metric=metric, window=window or "30d"
            )
        except LayersAPIError as exc:
            if exc.status and 400 <= exc.status < 500 and exc.code not in {"RATE_LIMITED"}:
                _record_error(result, f"project {project.layers_id} leaderboard {pair}", exc)
                continue
            raise
        if created:
            counts.created += 1
        else:
            counts.unchanged += 1


# --- helpers ------------------------------------------------------------------------------------


PREFETCH_PAGES = 2  # pages fetched and mapped ahead of the one being written
PREPARED = "_prepared"  # the key of a mapped row's pre-adapted SQL values (_Writer.prepare)
LEASE_RENEW_SECONDS = 60.0


def _preparer(project: Project, writer: _Writer) -> _Writer | None:
    """The writer whose ``prepare`` the prefetch thread runs on every row, on a project's
    first sync only: then every row is new and written. Later syncs write few rows (the rest
    are unchanged), and preparing every row would be work thrown away (measured: a no-change
    re-sync 25 % slower with it, bench/RESULTS.md)."""
    return writer if project.last_sync_ok_at is None else None


def _prefetched(
    pages: Iterable[Page],
    mapper: Callable[[dict[str, Any]], dict[str, Any]],
    writer: _Writer | None = None,
    required: tuple[str, ...] = (),
) -> Iterator[tuple[Page, dict[str, dict[str, Any]], int]]:
    """``(page, mapped rows, invalid items)`` for each page, fetched and mapped on a thread.

    The database releases the GIL while it works, so the next page's HTTP request, JSON
    decoding and mapping run while this page is written, and with ``writer`` the costly half
    of the rows' SQL parameters too (``_Writer.prepare``: JSON encoding, datetimes). The
    thread never touches the database; at most ``PREFETCH_PAGES`` pages wait in the queue
    (memory stays flat). An error while fetching is raised here, in the caller's thread,
    when its turn comes.
    """
    box: queue.Queue = queue.Queue(maxsize=PREFETCH_PAGES)
    stop = threading.Event()

    def put(item: tuple) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                counts = _Counts()
                rows = _valid_rows(page.items, mapper, counts, required=required)
                if writer is not None:
                    for fields in rows.values():
                        writer.prepare(fields)
                if not put(("page", page, rows, counts.result.invalid)):
                    return
            put(("end",))
        except BaseException as exc:  # handed to the consumer, which raises it
            put(("error", exc))

    thread = threading.Thread(target=produce, name="layers-sync-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = box.get()
            if item[0] == "end":
                return
            if item[0] == "error":
                raise item[1]
            yield item[1], item[2], item[3]
    finally:
        stop.set()  # the consumer stopped early (an error): let the thread end on its own


class _LeaderboardPrefetch:
    """The project's default leaderboards, fetched on a thread while its lists are written.

    Top-performers is the API's most expensive read (the sandbox ranks every creative); asked
    for at the start of the project, its answers are ready when ``_sync_leaderboards`` gets
    to them, instead of five round trips in a row at the end. Stands in for the client in
    ``leaderboard_refresh``: a call for a prefetched (metric, window) with default filters
    gets the prefetched answer (or its error, raised then); any other call goes to the API.
    The snapshot is stamped when stored, at most one project's sync after it was fetched.
    """

    def __init__(self, client: LayersClient, project: Project) -> None:
        self._client = client
        self._project_id = project.layers_id
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="layers-sync-boards")
        self._answers: dict[tuple[str, str], Future] = {}
        for pair in settings.LAYERS_LEADERBOARDS:
            metric, _, window = pair.partition(":")
            window = window or "30d"
            if (metric, window) not in self._answers:
                self._answers[(metric, window)] = self._pool.submit(
                    client.top_performers, project.layers_id, metric=metric, window=window
                )

    def top_performers(self, project_id: str, *, metric: str, window: str = "30d", **filters):
        answer = None
        if project_id == self._project_id and not any(filters.values()):
            answer = self._answers.pop((metric, window), None)
        if answer is not None:
            return answer.result()
        return self._client.top_performers(project_id, metric=metric, window=window, **filters)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def close(self) -> None:
        """Drop what was not used (the project failed first); never wait for it."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class _LeaseKeeper:
    """Renews a SQLite sync lease (LEASE_SECONDS long) once a minute, not on every page: each
    renewal is a commit of its own."""

    def __init__(self, lock_name: str) -> None:
        self.lock_name = lock_name
        self.renewed = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self.renewed >= LEASE_RENEW_SECONDS:
            lease_renew(self.lock_name)
            self.renewed = time.monotonic()


class _Counts:
    def __init__(self) -> None:
        self.result = TypeCounts()

    def count(self, old: dict | None) -> None:
        if old is None:
            self.result.created += 1
        else:
            self.result.updated += 1


def _valid_rows(
    items: list[dict[str, Any]],
    mapper: Callable[[dict[str, Any]], dict[str, Any]],
    counts: _Counts,
    *,
    required: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """Map a page, keyed by id key; drop items without an id or a required field; the last
    duplicate wins (a rescore between two pages can list a row twice)."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        try:
            fields = mapper(item)
        except Exception:  # hostile data must not stop the page
            logger.warning("sync: could not map an item", exc_info=True)
            counts.result.invalid += 1
            continue
        if not fields["key"] or any(fields.get(name) is None for name in required):
            counts.result.invalid += 1
            continue
        rows[fields["key"]] = fields
    return dict(sorted(rows.items()))  # a stable order keeps concurrent upserts deadlock-free


def _unchanged(old: dict | None, fields: dict, fetched_at: datetime, **same: Any) -> bool:
    """Whether a stored row needs no write: it is identical to the payload, or it was written
    after the page was fetched (an override made through layersadmin meanwhile)."""
    if old is None:
        return False
    if old["synced_at"] and old["synced_at"] > fetched_at:
        return True
    return (
        old["raw"] == fields["raw"]
        and old["layers_id"] == fields["layers_id"]
        and not old["is_gone"]
        and not old["missed_walks"]
        and all(old[name] == value for name, value in same.items())
    )


def _bulk_upsert(
    model,
    rows: list[dict[str, Any]],
    unique_fields: list[str],
    update_fields: list[str],
    *,
    new: bool = False,
) -> None:
    """INSERT ... ON CONFLICT (unique) DO UPDATE SET ... for ``rows`` (dicts of field values).

    The same statement Django's ``bulk_create(update_conflicts=True)`` sends, minus its cost:
    no model instance per row and no per-value SQL compilation, which made the ORM path spend
    most of a sync's time in Python (bench/RESULTS.md). Values are adapted with the backend's
    own adapters (datetimes, JSON), so what is stored is identical. ``new``: the rows were not
    in the table when this transaction looked (PostgreSQL then COPYs them, see ``_Writer``).
    """
    if rows:
        _writer(model, tuple(unique_fields), tuple(update_fields)).write(rows, new=new)


class _Writer:
    """One model's upsert statement, built once per process and backend, and its value adapters."""

    def __init__(self, model, unique: tuple[str, ...], update: tuple[str, ...]) -> None:
        meta = model._meta
        ops = connection.ops
        # Every column is inserted (as bulk_create does); only ``update`` is set on conflict.
        self.fields = [field for field in meta.local_concrete_fields if not field.primary_key]
        self.keys = [field.attname for field in self.fields]
        self.defaults = {field.attname: field.get_default for field in self.fields}
        self.adapters = [self._adapter(field, ops) for field in self.fields]
        columns = ", ".join(ops.quote_name(field.column) for field in self.fields)
        # Identifiers come from model metadata (quoted); every value is a parameter.
        head = f"INSERT INTO {ops.quote_name(meta.db_table)} ({columns}) VALUES "  # noqa: S608
        row_sql = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        conflict = ""
        if unique:
            targets = ", ".join(ops.quote_name(meta.get_field(n).column) for n in unique)
            sets = ", ".join(
                f"{ops.quote_name(meta.get_field(n).column)} = "
                f"EXCLUDED.{ops.quote_name(meta.get_field(n).column)}"
                for n in update
            )
            conflict = f" ON CONFLICT ({targets}) DO UPDATE SET {sets}"
        self.sql = head + row_sql + conflict
        self.conflict = bool(conflict)
        self.copy_sql = f"COPY {ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"

    @staticmethod
    def _adapter(field, ops) -> Callable[[Any], Any] | None:
        kind = field.get_internal_type()
        if kind == "JSONField":
            encoder = field.encoder
            return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
        if kind == "DateTimeField":
            if connection.vendor == "sqlite":
                return _sqlite_datetime(connection.timezone)
            return ops.adapt_datetimefield_value
        if kind in {
            "CharField",
            "TextField",
            "URLField",
            "IntegerField",
            "SmallIntegerField",
            "PositiveIntegerField",
            "PositiveSmallIntegerField",
            "BigIntegerField",
            "FloatField",
            "BooleanField",
            "ForeignKey",
            "BigAutoField",
            "AutoField",
        }:
            return None  # the mapping already made these plain Python values
        return lambda value, field=field: field.get_db_prep_save(value, connection)

    def prepare(self, fields: dict[str, Any]) -> None:
        """Adapt the mapped fields that cost the most to adapt (JSON, datetimes) ahead of
        ``params``, on the prefetch thread; kept under ``PREPARED`` in ``fields``. Touches no
        connection: the adapters are this writer's, made in the caller's thread."""
        fields[PREPARED] = {
            key: adapt(fields[key])
            for key, adapt in zip(self.keys, self.adapters, strict=True)
            if adapt is not None and key in fields
        }

    def params(self, row: dict[str, Any]) -> list[Any]:
        prepared = row.get(PREPARED) or {}
        values = []
        for key, adapt in zip(self.keys, self.adapters, strict=True):
            if key in prepared:
                values.append(prepared[key])
                continue
            value = row[key] if key in row else self.defaults[key]()
            values.append(value if adapt is None else adapt(value))
        return values

    def write(self, rows: list[dict[str, Any]], *, new: bool = False) -> None:
        params = [self.params(row) for row in rows]
        if new and connection.vendor == "postgresql":
            # Rows that were not there: COPY, about three times cheaper for the server than
            # one INSERT each (bench/RESULTS.md). Should another transaction have inserted one
            # of them since we looked, the savepoint undoes the COPY and the upsert below
            # settles it, as it always did.
            try:
                with (
                    transaction.atomic(),
                    connection.wrap_database_errors,
                    connection.cursor() as cursor,
                    cursor.cursor.copy(self.copy_sql) as copy,
                ):
                    for values in params:
                        copy.write_row(values)
                return
            except IntegrityError:
                if not self.conflict:
                    raise
        # executemany of a one-row statement: SQLite runs the prepared statement in a C loop and
        # psycopg pipelines it; both measured faster than multi-row VALUES (bench/RESULTS.md).
        with connection.cursor() as cursor:
            cursor.executemany(self.sql, params)


def _sqlite_datetime(zone) -> Callable[[Any], Any]:
    """SQLite's ``adapt_datetimefield_value`` (aware -> naive in the connection's zone -> text)
    without its per-call checks; the mapping only makes aware datetimes or None."""

    def adapt(value: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return str(value)

    return adapt


_WRITERS: dict[tuple, _Writer] = {}


def _writer(model, unique: tuple[str, ...], update: tuple[str, ...]) -> _Writer:
    key = (connection.vendor, connection.alias, model, unique, update)
    writer = _WRITERS.get(key)
    if writer is None:
        writer = _WRITERS[key] = _Writer(model, unique, update)
    return writer


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _score_samples_insert(project_pk: int, keys: list[str], *, observed_at) -> None:
    """A ScoreSample for each of the project's creatives with these id keys, with the score
    the upsert just stored: one INSERT ... SELECT in the page's transaction, rather than
    reading their ids back and inserting a row each."""
    ads, sample = AdsContent, ScoreSample
    marks = ", ".join(["%s"] * len(keys))
    # Identifiers from model metadata (quoted); every value is a parameter.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(sample._meta.db_table)} "  # noqa: S608
        f"({_column(sample, 'ads_content')}, {_column(sample, 'score')}, "
        f"{_column(sample, 'scored_at')}, {_column(sample, 'observed_at')}) "
        f"SELECT {_column(ads, 'id')}, {_column(ads, 'organic_score')}, "
        f"{_column(ads, 'scored_at')}, %s FROM {connection.ops.quote_name(ads._meta.db_table)} "
        f"WHERE {_column(ads, 'project')} = %s AND {_column(ads, 'key')} IN ({marks})"
    )
    observed = connection.ops.adapt_datetimefield_value(observed_at)
    with connection.cursor() as cursor:
        cursor.execute(sql, [observed, project_pk, *keys])


def _existing(queryset, keys: Iterable[str], extra: tuple[str, ...] = ()) -> dict[str, dict]:
    """The stored rows with these id keys, by key (locked on PostgreSQL)."""
    fields = ["key", "layers_id", "raw", "synced_at", "is_gone", "missed_walks", *extra]
    model = queryset.model
    if model is ContentContainer:
        fields.append("project_id")
    if model is AdsContent:
        fields.append("container_id")
    qs = queryset.filter(key__in=list(keys))
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    return {row["key"]: row for row in qs.values(*fields)}


def _mark_missing(queryset, seen: set[str]) -> int:
    """After a complete walk: each row of ``queryset`` whose key it did not return has missed
    one more walk (since when is kept for the pages); a row that has now missed
    ``GONE_AFTER_MISSED_WALKS`` in a row is gone. Rows the walk returned were reset when
    written. Returns how many became gone."""
    now = timezone.now()
    stored = queryset.filter(is_gone=False).values_list("key", flat=True).iterator(2000)
    missing = [key for key in stored if key not in seen]
    gone = 0
    for chunk in _chunks(missing, BATCH_SIZE):
        rows = queryset.filter(key__in=chunk, is_gone=False)
        gone += rows.filter(missed_walks__gte=GONE_AFTER_MISSED_WALKS - 1).update(
            is_gone=True, missed_walks=F("missed_walks") + 1, synced_at=now
        )
        rows.filter(missing_since__isnull=True).update(missing_since=now)
        rows.filter(is_gone=False).update(missed_walks=F("missed_walks") + 1)
    return gone


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
