"""One declarative spec per mirrored kind: what the sync reads, how it maps it, what it writes.

A spec names its remote call and mapper, its unique key and its freshness target. Everything
else is derived, never kept by hand beside the mapper:

* **Columns written** are the keys the mapper returns (``mapper({})``) plus the columns the
  step sets itself (``linked``: the project, the container) and the sync's bookkeeping. A field
  added to a mapper is written on the next sync.
* **The mapping version** is a hash of the mapper's source. Every mirrored row stores the
  version it was mapped with; a row whose version differs is mapped again from its stored raw
  payload at the next sync, at no API cost (``rows.remap_outdated``), and ``--full`` re-applies
  it too. So a changed mapper (a fixed bug, a new field) reaches rows that incremental reads
  never fetch again.

Adding a mirrored field takes a model field, its migration and one mapper line
(tests/sync/test_sync_specs.py does exactly that).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from creatives.mapping import (
    ads_content_fields_from_api,
    container_fields_from_api,
    leaderboard_fields_from_api,
)
from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot
from projects import freshness as targets
from projects.mapping import project_fields_from_api
from projects.models import Project

# Written on every row a walk returns (it is not missing) and kept by remapping.
BOOKKEEPING = ("synced_at", "is_gone", "missing_since", "missed_walks")
SEEN = {"is_gone": False, "missing_since": None, "missed_walks": 0}

Mapper = Callable[[dict[str, Any]], dict[str, Any]]


@functools.cache
def mapper_version(mapper: Mapper) -> str:
    """A short hash of the mapper's source: changes whenever the mapper does."""
    try:
        source = inspect.getsource(mapper)
    except (OSError, TypeError):  # no source (built at run time): its qualified name
        source = f"{mapper.__module__}.{mapper.__qualname__}"
    return hashlib.sha256(source.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class MirrorSpec:
    """How one kind of Layers object is mirrored."""

    kind: str  # the name its counts go under in a SyncRun
    model: type
    fetch: str  # the LayersClient method that reads it
    mapper: Mapper
    unique: tuple[str, ...]  # the conflict target of its upsert; () for append-only history
    freshness: timedelta  # how old its data may get (README: worst-case staleness)
    linked: tuple[str, ...] = ()  # columns the step sets (foreign keys), not the mapper
    required: tuple[str, ...] = ()  # mapped fields without which an item is invalid
    mirrored: bool = True  # rows with an id, bookkeeping and gone marking (not snapshots)
    read_at: str = ""  # the Project field that says when a project's rows were last read

    @property
    def cadence(self) -> timedelta:
        """How often ``sync_layers`` (without arguments) reads this kind for a project:
        ``LAYERS_CADENCE_MINUTES`` names it per kind. By default: the freshness target less
        one timer interval (``LAYERS_SYNC_EVERY_MINUTES``, the wait for the next run), less a
        tenth for the queue of due projects ahead of it. So a kind read on schedule is never
        older than its target (bench/cadence_model.py checks it for 500 projects)."""
        minutes = settings.LAYERS_CADENCE_MINUTES.get(self.kind)
        if minutes is not None:
            return timedelta(minutes=minutes)
        return max(timedelta(0), (self.freshness - sync_every()) * QUEUE_SHARE)

    def due(self, project, now) -> bool:
        read_at = getattr(project, self.read_at) if self.read_at else None
        return phase_due(read_at, now, self.cadence, f"{self.kind}:{project.key}")

    @property
    def version(self) -> str:
        return mapper_version(self.mapper)

    @property
    def mapped(self) -> tuple[str, ...]:
        """The fields the mapper fills (the id key aside: it is the conflict target)."""
        return tuple(name for name in self.mapper({}) if name != "key")

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column an upsert from a list page sets on a conflict."""
        extra = (*BOOKKEEPING, "mapping_version") if self.mirrored else ()
        return (*self.mapped, *self.linked, *extra)

    @property
    def remap_columns(self) -> tuple[str, ...]:
        """What mapping a stored payload again may change: never the id as stored (the form
        calls use) nor the bookkeeping of its walks."""
        return (
            *(name for name in self.mapped if name != "layers_id"),
            *self.linked,
            "mapping_version",
        )

    def map(self, item: dict[str, Any]) -> dict[str, Any]:
        fields = self.mapper(item)
        if self.mirrored:
            fields["mapping_version"] = self.version
        return fields


PROJECTS = MirrorSpec(
    kind="projects",
    model=Project,
    fetch="projects_pages",
    mapper=project_fields_from_api,
    unique=("key",),
    freshness=targets.PROJECT_LIST.target,
)
CONTAINERS = MirrorSpec(
    kind="containers",
    model=ContentContainer,
    fetch="content_pages",
    mapper=container_fields_from_api,
    unique=("key",),
    freshness=targets.CONTENT.target,
    linked=("project",),
    required=("created_at",),
    read_at=targets.CONTENT.read_at,
)
SCORED_CREATIVES = MirrorSpec(
    kind="ads_content",
    model=AdsContent,
    fetch="ads_content_pages",
    mapper=ads_content_fields_from_api,
    unique=("project", "key"),
    freshness=targets.SCORED_CREATIVES.target,
    linked=("project", "container"),
    read_at=targets.SCORED_CREATIVES.read_at,
)
LEADERBOARDS = MirrorSpec(
    kind="leaderboards",
    model=LeaderboardSnapshot,
    fetch="top_performers",
    mapper=leaderboard_fields_from_api,
    unique=(),  # append-only history: a snapshot when the answer changed, never marked gone
    freshness=targets.BOARDS.target,
    mirrored=False,
    read_at=targets.BOARDS.read_at,
)
# The share of a target's time left after the timer's wait: the rest is for the queue.
QUEUE_SHARE = 0.9
FULL_WALK_MINUTES = 24 * 60  # scored creatives' full walk; `ads_content_full` in the setting


def sync_every() -> timedelta:
    """How often the timer starts ``sync_layers`` (README: systemd timer, cron)."""
    return timedelta(minutes=settings.LAYERS_SYNC_EVERY_MINUTES)


def phase_due(last: datetime | None, now: datetime, period: timedelta, seed: str) -> bool:
    """Whether work done at ``last`` is due again at ``now``, on a period of ``period``.

    Each (kind, project) has its own phase within the period, from a hash of ``seed``; work
    falls due at its phase points. So 500 projects added at once do not all fall due in the
    same minute ever after: their reads spread evenly over the period, and the budget sees a
    steady stream instead of bursts that would starve the short-cadence kinds. Work is due at
    the latest one period after ``last``, and never sooner than half a period after it (a
    read made off-phase, by hand or by ``--full``, is not repeated at once).
    """
    if last is None or period <= timedelta(0):
        return True
    age = now - last
    if age >= period:
        return True
    if age < period / 2:
        return False
    seconds = int(period.total_seconds())
    phase = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % seconds
    since_point = (int(now.timestamp()) - phase) % seconds
    return last < now - timedelta(seconds=since_point)


def full_walk_due(project, now) -> bool:
    """Whether the project's scored creatives are due a full walk (promotions, performance,
    eligibility, deletions: what no cheap read shows). Daily by default, each project at its
    own time of day, so the walks spread over the day."""
    minutes = settings.LAYERS_CADENCE_MINUTES.get("ads_content_full", FULL_WALK_MINUTES)
    return phase_due(
        project.creatives_full_at, now, timedelta(minutes=minutes), f"full:{project.key}"
    )


# The kinds read per project, in the order a project's sync reads them.
PROJECT_KINDS = (CONTAINERS, SCORED_CREATIVES, LEADERBOARDS)
SPECS = (PROJECTS, CONTAINERS, SCORED_CREATIVES, LEADERBOARDS)
