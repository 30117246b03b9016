"""The content containers step, and what the list steps share (pages mapped ahead).

Each list step is fetch → map (on a thread with its own client) → diff → write (one
transaction per page, only what changed) → mark what a complete walk missed. Rows whose
mapper changed are mapped again from their stored payloads first, at no API cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from creatives.models import IN_FLIGHT_CONTAINER_STATUSES, ContentContainer
from layersadmin.layers import LayersClient, LayersError, Page
from layersadmin.layers import payload as p
from layersadmin.layers.errors import LayersAPIError
from layersadmin.layers.ids import id_key
from projects.models import Project
from sync.services.prefetch import ahead
from sync.services.rows import (
    existing,
    mark_missing,
    remap_outdated,
    unchanged,
    valid_rows,
)
from sync.services.runs import LeaseKeeper, SyncResult, TypeCounts
from sync.services.specs import CONTAINERS, SEEN, MirrorSpec
from sync.services.writer import Writer, bulk_upsert, writer_for

CONTENT_OVERLAP = timedelta(minutes=10)
# How many containers missed for the first time get a GET to confirm them, per walk.
MISSING_LOOKUPS = 25

Mapped = tuple[Page, dict[str, dict[str, Any]], int]  # a page, its rows by key, invalid items


def mapped_pages(pages, spec: MirrorSpec, writer: Writer | None) -> Iterator[Mapped]:
    """The pages fetched and mapped on a thread; with ``writer`` (a project's first sync,
    when every row is new and written) the rows' SQL values are prepared there too."""

    def transform(page: Page) -> Mapped:
        counts = TypeCounts()
        rows = valid_rows(page.items, spec, counts)
        if writer is not None:
            for fields in rows.values():
                writer.prepare(fields)
        return page, rows, counts.invalid

    return ahead(pages, transform, name=f"layers-sync-{spec.kind}")


def writer_when_new(project: Project, spec: MirrorSpec) -> Writer | None:
    """Later syncs write few rows (the rest are unchanged), and preparing every row would be
    work thrown away (measured: a no-change re-sync 25 % slower with it, bench/RESULTS.md)."""
    if project.last_sync_ok_at is not None:
        return None
    return writer_for(spec.model, spec.unique, spec.columns)


# --- containers ---------------------------------------------------------------------------------


def content_since(project: Project, *, full: bool) -> datetime | None:
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


def containers_step(
    client: LayersClient, result: SyncResult, project: Project, *, full: bool, lock_name: str
) -> None:
    counts = result.count(CONTAINERS.kind)
    stored = ContentContainer.objects.filter(project=project)
    counts.updated += remap_outdated(CONTAINERS, stored)
    since = content_since(project, full=full)
    newest = project.content_watermark
    seen: set[str] = set()
    keeper = LeaseKeeper(lock_name)
    walker = client.clone()
    pages = walker.content_pages(project.layers_id, since=p.iso(since) if since else None)
    for page, rows, invalid in mapped_pages(
        pages, CONTAINERS, writer_when_new(project, CONTAINERS)
    ):
        page_counts, page_newest = containers_store(project, page, rows)
        page_counts.invalid += invalid
        counts.add(page_counts)
        seen.update(id_key(item.get("id")) for item in page.items)
        if page_newest and (newest is None or page_newest > newest):
            newest = page_newest
        keeper.renew()
    walker.close()
    # Pages come newest first, so the watermark moves only once the walk has reached its end:
    # moved after the first page of a walk that then failed, it would make every later
    # incremental run skip the older pages this one never read (lost rows until --full).
    if newest != project.content_watermark:
        Project.objects.filter(pk=project.pk).update(content_watermark=newest)
    if since is None:  # a complete walk: what it did not return is missing
        seen |= _containers_confirmed(client, stored, seen, counts)
        counts.gone += mark_missing(stored, seen)


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


def containers_store(
    project: Project, page: Page, rows: dict[str, dict[str, Any]] | None = None
) -> tuple[TypeCounts, datetime | None]:
    """Write one page of containers; ``rows`` is the page already mapped (by the prefetch)."""
    counts = TypeCounts()
    if rows is None:
        rows = valid_rows(page.items, CONTAINERS, counts)
    if not rows:
        return counts, None
    newest = max(fields["created_at"] for fields in rows.values())
    now = timezone.now()
    with transaction.atomic():
        stored = existing(ContentContainer.objects.all(), rows.keys(), extra=("project_id",))
        to_create, to_write = [], []
        for key, fields in rows.items():
            old = stored.get(key)
            if unchanged(old, fields, page.fetched_at):
                counts.unchanged += 1
                continue
            if old is not None and old["project_id"] != project.pk:
                counts.invalid += 1  # an id that belongs to another project: refuse it
                continue
            counts.count(old)
            (to_write if old else to_create).append(
                {**fields, **SEEN, "project_id": project.pk, "synced_at": now}
            )
        columns = CONTAINERS.columns
        bulk_upsert(ContentContainer, to_create, CONTAINERS.unique, columns, new=True)
        bulk_upsert(ContentContainer, to_write, CONTAINERS.unique, columns)
    return counts, newest
