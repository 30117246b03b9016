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
from django.db.models import Min
from django.utils import timezone

from creatives.mapping import ads_content_fields_from_api, container_fields_from_api
from creatives.models import (
    FINAL_CONTAINER_STATUSES,
    AdsContent,
    ContentContainer,
    ScoreSample,
)
from layersadmin.layers import LayersClient, LayersError, Page, get_client
from layersadmin.layers import payload as p
from layersadmin.layers.errors import LayersAPIError
from projects.locks import lease_renew, process_is_gone, sync_lock
from projects.mapping import project_fields_from_api
from projects.models import Project, SyncRun
from projects.services.counts import project_counts_refresh

logger = logging.getLogger(__name__)

CONTENT_OVERLAP = timedelta(minutes=10)
BATCH_SIZE = 500
STALE_RUN_AFTER = timedelta(minutes=30)
PROJECTS_LIST_LOCK = "layers-sync:projects"

PROJECT_FIELDS = [
    "name",
    "customer_external_id",
    "status",
    "timezone",
    "primary_language",
    "organization_id",
    "owner_email",
    "created_at",
    "updated_at",
    "raw",
    "synced_at",
    "is_gone",
]
CONTAINER_FIELDS = [
    "project",
    "status",
    "format",
    "caption",
    "creative_type",
    "ads_enrollment",
    "approval_status",
    "created_at",
    "completed_at",
    "preview_kind",
    "preview_url",
    "thumbnail_url",
    "image_urls",
    "video_url",
    "duration_ms",
    "aspect_ratio",
    "raw",
    "synced_at",
    "is_gone",
]
ADS_FIELDS = [
    "container",
    "source_type",
    "source_id",
    "platform_post_id",
    "title",
    "thumbnail_url",
    "scoring_pool",
    "organic_score",
    "scored_at",
    "scoring_version",
    "is_eligible",
    "eligibility_reason",
    "override",
    "override_note",
    "override_set_by",
    "override_set_at",
    "active_promotions",
    "organic_performance",
    "ad_performance",
    "raw",
    "synced_at",
    "is_gone",
]


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
        for project_id in project_ids:
            try:
                data = client.project_get(project_id)
            except LayersAPIError as exc:
                if exc.code == "NOT_FOUND":
                    counts.gone += Project.objects.filter(layers_id=project_id).update(
                        is_gone=True, synced_at=timezone.now()
                    )
                    continue
                raise
            counts.add(_upsert_projects([data], fetched_at=timezone.now()))
        return list(Project.objects.filter(layers_id__in=project_ids, is_gone=False))

    # The list is walked by one worker at a time; the others wait, then use its result.
    with sync_lock(PROJECTS_LIST_LOCK, wait=600) as acquired:
        listed_since_start = SyncRun.objects.filter(
            projects_listed_at__gte=result.run.started_at
        ).exists()
        if acquired and not listed_since_start:
            seen: set[str] = set()
            # The default list hides archived projects (seed 003); ask for them too.
            for status in (None, "archived"):
                for page in client.projects_pages(status=status):
                    counts.add(_upsert_projects(page.items, fetched_at=page.fetched_at))
                    seen.update(p.text(item.get("id"), 64) for item in page.items)
            stored = Project.objects.filter(is_gone=False).values_list("layers_id", flat=True)
            gone = [pid for pid in stored if pid not in seen]
            for chunk in _chunks(gone, BATCH_SIZE):
                counts.gone += Project.objects.filter(layers_id__in=chunk).update(
                    is_gone=True, synced_at=timezone.now()
                )
            SyncRun.objects.filter(pk=result.run.pk).update(projects_listed_at=timezone.now())
    return list(Project.objects.filter(is_gone=False).order_by("layers_id"))


def _upsert_projects(items: list[dict[str, Any]], *, fetched_at: datetime) -> Any:
    counts = _Counts()
    rows = _valid_rows(items, project_fields_from_api, counts)
    if not rows:
        return counts.result
    now = timezone.now()
    with transaction.atomic():
        existing = _existing(Project.objects.all(), rows.keys())
        to_write = []
        for layers_id, fields in rows.items():
            old = existing.get(layers_id)
            if _unchanged(old, fields, fetched_at):
                counts.result.unchanged += 1
                continue
            counts.count(old)
            to_write.append({**fields, "synced_at": now, "is_gone": False})
        _bulk_upsert(Project, to_write, ["layers_id"], PROJECT_FIELDS)
    return counts.result


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
            _refresh_counts(result, project)
        Project.objects.filter(pk=project.pk).update(
            last_sync_ok_at=timezone.now(), last_sync_error=""
        )
        result.synced.append(project.layers_id)


def _refresh_counts(result: SyncResult, project: Project) -> None:
    """The project list's figures, after every project sync (a failed one may have written
    pages too); a failure here is recorded and never hides the sync's own outcome."""
    try:
        project_counts_refresh(project=project)
    except Exception as exc:
        logger.exception("counts of project %s could not be refreshed", project.layers_id)
        _record_error(result, f"project {project.layers_id} counts", exc)


def _content_since(project: Project, *, full: bool) -> datetime | None:
    if full or project.content_watermark is None:
        return None
    since = project.content_watermark - CONTENT_OVERLAP
    oldest_open = (
        ContentContainer.objects.filter(project=project, is_gone=False)
        .exclude(status__in=FINAL_CONTAINER_STATUSES)
        .aggregate(oldest=Min("created_at"))["oldest"]
    )
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
    writer = _writer(ContentContainer, ("layers_id",), tuple(CONTAINER_FIELDS))
    mapped = _prefetched(
        pages, container_fields_from_api, _preparer(project, writer), ("created_at",)
    )
    for page, rows, invalid in mapped:
        page_counts, page_newest = _upsert_containers(project, page, rows)
        page_counts.invalid += invalid
        counts.add(page_counts)
        seen.update(p.text(item.get("id"), 64) for item in page.items)
        if page_newest and (newest is None or page_newest > newest):
            newest = page_newest
        keeper.renew()
    # Pages come newest first, so the watermark moves only once the walk has reached its end:
    # moved after the first page of a walk that then failed, it would make every later
    # incremental run skip the older pages this one never read (lost rows until --full).
    if newest != project.content_watermark:
        Project.objects.filter(pk=project.pk).update(content_watermark=newest)
    if since is None:
        counts.gone += _mark_gone(ContentContainer.objects.filter(project=project), seen)


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
        for layers_id, fields in rows.items():
            old = existing.get(layers_id)
            if _unchanged(old, fields, page.fetched_at):
                counts.result.unchanged += 1
                continue
            if old is not None and old["project_id"] != project.pk:
                counts.result.invalid += 1  # an id that belongs to another project: refuse it
                continue
            counts.count(old)
            (to_write if old else to_create).append(
                {**fields, "project_id": project.pk, "synced_at": now, "is_gone": False}
            )
        _bulk_upsert(ContentContainer, to_create, ["layers_id"], CONTAINER_FIELDS, new=True)
        _bulk_upsert(ContentContainer, to_write, ["layers_id"], CONTAINER_FIELDS)
    return counts.result, newest


def _sync_ads_content(
    client: LayersClient, result: SyncResult, project: Project, *, lock_name: str
) -> None:
    counts = result.count("ads_content")
    seen: set[str] = set()
    keeper = _LeaseKeeper(lock_name)
    pages = client.ads_content_pages(project.layers_id)
    writer = _writer(AdsContent, ("project", "layers_id"), tuple(ADS_FIELDS))
    mapped = _prefetched(pages, ads_content_fields_from_api, _preparer(project, writer))
    for page, rows, invalid in mapped:
        page_counts = _upsert_ads_content(project, page, rows)
        page_counts.invalid += invalid
        counts.add(page_counts)
        seen.update(p.text(item.get("adsContentId"), 64) for item in page.items)
        keeper.renew()
    counts.gone += _mark_gone(AdsContent.objects.filter(project=project), seen)


def _upsert_ads_content(
    project: Project, page: Page, rows: dict[str, dict[str, Any]] | None = None
) -> TypeCounts:
    """Write one page of scored creatives; ``rows`` is the page already mapped."""
    counts = _Counts()
    if rows is None:
        rows = _valid_rows(page.items, ads_content_fields_from_api, counts)
    if not rows:
        return counts.result
    now = timezone.now()
    source_ids = {f["source_id"] for f in rows.values() if f["source_id"]}
    with transaction.atomic():
        containers = dict(
            ContentContainer.objects.filter(project=project, layers_id__in=source_ids).values_list(
                "layers_id", "pk"
            )
        )
        existing = _existing(
            AdsContent.objects.filter(project=project), rows.keys(), extra=("organic_score",)
        )
        to_create, to_write, rescored = [], [], []
        for layers_id, fields in rows.items():
            old = existing.get(layers_id)
            container_id = containers.get(fields["source_id"])
            if _unchanged(old, fields, page.fetched_at, container_id=container_id):
                counts.result.unchanged += 1
                continue
            counts.count(old)
            if old is None or old["organic_score"] != fields["organic_score"]:
                rescored.append(layers_id)
            (to_write if old else to_create).append(
                {
                    **fields,
                    "project_id": project.pk,
                    "container_id": container_id,
                    "synced_at": now,
                    "is_gone": False,
                }
            )
        _bulk_upsert(AdsContent, to_create, ["project", "layers_id"], ADS_FIELDS, new=True)
        _bulk_upsert(AdsContent, to_write, ["project", "layers_id"], ADS_FIELDS)
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
    """Map a page; drop items without an id or a required field; the last duplicate wins."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        try:
            fields = mapper(item)
        except Exception:  # hostile data must not stop the page
            logger.warning("sync: could not map an item", exc_info=True)
            counts.result.invalid += 1
            continue
        if not fields["layers_id"] or any(fields.get(name) is None for name in required):
            counts.result.invalid += 1
            continue
        rows[fields["layers_id"]] = fields
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
        and not old["is_gone"]
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


def _score_samples_insert(project_pk: int, layers_ids: list[str], *, observed_at) -> None:
    """A ScoreSample for each of the project's creatives in ``layers_ids``, with the score
    the upsert just stored: one INSERT ... SELECT in the page's transaction, rather than
    reading their ids back and inserting a row each."""
    ads, sample = AdsContent, ScoreSample
    marks = ", ".join(["%s"] * len(layers_ids))
    # Identifiers from model metadata (quoted); every value is a parameter.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(sample._meta.db_table)} "  # noqa: S608
        f"({_column(sample, 'ads_content')}, {_column(sample, 'score')}, "
        f"{_column(sample, 'scored_at')}, {_column(sample, 'observed_at')}) "
        f"SELECT {_column(ads, 'id')}, {_column(ads, 'organic_score')}, "
        f"{_column(ads, 'scored_at')}, %s FROM {connection.ops.quote_name(ads._meta.db_table)} "
        f"WHERE {_column(ads, 'project')} = %s AND {_column(ads, 'layers_id')} IN ({marks})"
    )
    observed = connection.ops.adapt_datetimefield_value(observed_at)
    with connection.cursor() as cursor:
        cursor.execute(sql, [observed, project_pk, *layers_ids])


def _existing(queryset, layers_ids: Iterable[str], extra: tuple[str, ...] = ()) -> dict[str, dict]:
    fields = ["layers_id", "raw", "synced_at", "is_gone", *extra]
    model = queryset.model
    if model is ContentContainer:
        fields.append("project_id")
    if model is AdsContent:
        fields.append("container_id")
    qs = queryset.filter(layers_id__in=list(layers_ids))
    if connection.features.has_select_for_update:
        qs = qs.select_for_update()
    return {row["layers_id"]: row for row in qs.values(*fields)}


def _mark_gone(queryset, seen: set[str]) -> int:
    stored = queryset.filter(is_gone=False).values_list("layers_id", flat=True).iterator(2000)
    missing = [layers_id for layers_id in stored if layers_id not in seen]
    gone = 0
    for chunk in _chunks(missing, BATCH_SIZE):
        gone += queryset.filter(layers_id__in=chunk).update(is_gone=True, synced_at=timezone.now())
    return gone


def _chunks(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
