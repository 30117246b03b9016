"""Run bookkeeping: what one sync did (counts per kind, errors, projects), recorded as a
``SyncRun`` row support can see; runs whose process died are marked abandoned."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from layersadmin.layers import LayersClient, LayersError
from projects.models import Project
from sync.locks import lease_renew, process_is_gone
from sync.models import SyncRun

logger = logging.getLogger(__name__)

STALE_RUN_AFTER = timedelta(minutes=30)
LEASE_RENEW_SECONDS = 60.0
COUNT_NAMES = ("created", "updated", "unchanged", "gone", "invalid")


@dataclass
class TypeCounts:
    """What a sync did to one kind of row."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0
    invalid: int = 0

    def add(self, other: TypeCounts) -> None:
        for name in COUNT_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self, old: dict | None) -> None:
        """One row written: created when there was none, else updated."""
        if old is None:
            self.created += 1
        else:
            self.updated += 1

    @property
    def written(self) -> int:
        return self.created + self.updated + self.gone

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in COUNT_NAMES}


@dataclass
class SyncResult:
    """What one sync did; ``run`` is the SyncRun row that records it."""

    run: SyncRun
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def count(self, kind: str) -> TypeCounts:
        return self.counts.setdefault(kind, TypeCounts())

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def idle(self) -> bool:
        """Nothing was due: no call made, no project read, nothing went wrong."""
        return not (self.run.api_calls or self.synced or self.skipped or self.errors)

    @property
    def rows_written(self) -> int:
        return sum(c.written for c in self.counts.values())


ProgressCallback = Callable[[str, Project | None], None]


def run_start(*, trigger: str, user, full: bool, project_ids: Iterable[str]) -> SyncResult:
    run_abandon_stale()
    now = timezone.now()
    run = SyncRun.objects.create(
        started_at=now,
        heartbeat_at=now,
        trigger=trigger,
        triggered_by=user,
        full=full,
        project_ids=list(project_ids),
        host=socket.gethostname()[:255],
        pid=os.getpid(),
    )
    return SyncResult(run=run)


def run_beat(result: SyncResult) -> None:
    SyncRun.objects.filter(pk=result.run.pk).update(heartbeat_at=timezone.now())


def run_abandon_stale() -> None:
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


def run_finish(result: SyncResult, client: LayersClient, before: dict[str, int]) -> None:
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


def record_error(result: SyncResult, where: str, exc: BaseException) -> None:
    entry = {"where": where, "error": type(exc).__name__, "message": str(exc)[:1000]}
    if isinstance(exc, LayersError):
        entry.update({"code": exc.code, "request_id": exc.request_id})
    logger.warning("sync: %s: %s", where, entry["message"])
    result.errors.append(entry)


class LeaseKeeper:
    """Renews a SQLite sync lease (``sync.locks``) once a minute, not on every page: each
    renewal is a commit of its own."""

    def __init__(self, lock_name: str) -> None:
        self.lock_name = lock_name
        self.renewed = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self.renewed >= LEASE_RENEW_SECONDS:
            lease_renew(self.lock_name)
            self.renewed = time.monotonic()


# Rows sampled per index by SQLite's ANALYZE (``planner_statistics_refresh``): enough for the
# planner to tell a selective index from a broad one; about 3 ms at 200,000 creatives.
SQLITE_ANALYSIS_LIMIT = 1000


def planner_statistics_refresh() -> None:
    """Give SQLite's query planner statistics after a run that wrote rows.

    Without ``sqlite_stat1`` SQLite guesses, and guesses wrong on the decision table across
    projects (it sorted every creative instead of reading ``ads_all_by_score`` in order:
    bench/RESULTS.md). ``ANALYZE`` with an analysis limit samples each index, so it is cheap
    enough for every run. PostgreSQL's autovacuum keeps its own statistics: nothing to do."""
    if connection.vendor != "sqlite":
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA analysis_limit={SQLITE_ANALYSIS_LIMIT}")
            cursor.execute("ANALYZE")
    except DatabaseError:  # busy: the next run refreshes them; the sync's result stands
        logger.warning("planner statistics not refreshed", exc_info=True)
