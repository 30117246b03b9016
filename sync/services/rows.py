"""What every step does with a page of rows, whatever its kind: map and validate it, read what
is stored, decide what changed, mark what a complete walk missed, map stored payloads again."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from sync.services.runs import TypeCounts
from sync.services.specs import BOOKKEEPING, MirrorSpec
from sync.services.writer import bulk_upsert

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# A row missed by this many complete walks in a row is gone (one miss can be a rescore
# between two pages moving it past the cursor).
GONE_AFTER_MISSED_WALKS = 2


def valid_rows(
    items: list[dict[str, Any]], spec: MirrorSpec, counts: TypeCounts
) -> dict[str, dict[str, Any]]:
    """Map a page, keyed by id key; drop items without an id or a required field; the last
    duplicate wins (a rescore between two pages can list a row twice)."""
    rows: dict[str, dict[str, Any]] = {}
    for item in items:
        try:
            fields = spec.map(item)
        except Exception:  # hostile data must not stop the page
            logger.warning("sync: could not map an item", exc_info=True)
            counts.invalid += 1
            continue
        if not fields["key"] or any(fields.get(name) is None for name in spec.required):
            counts.invalid += 1
            continue
        rows[fields["key"]] = fields
    return dict(sorted(rows.items()))  # a stable order keeps concurrent upserts deadlock-free


def existing(queryset, keys: Iterable[str], extra: tuple[str, ...] = ()) -> dict[str, dict]:
    """The stored rows with these id keys, by key (locked on PostgreSQL)."""
    fields = ["key", "layers_id", "raw", "synced_at", "is_gone", "missed_walks"]
    fields += ["mapping_version", *extra]
    qs = queryset.filter(key__in=list(keys))
    # Locked in the model's order on PostgreSQL, as always. Elsewhere unordered: sorting by the
    # model's ordering made SQLite walk the project's rows by that index instead of looking the
    # keys up by the unique one (9 ms a page, not 1).
    locks = connection.features.has_select_for_update
    qs = qs.select_for_update() if locks else qs.order_by()
    return {row["key"]: row for row in qs.values(*fields)}


def unchanged(old: dict | None, fields: dict, fetched_at: datetime, **same: Any) -> bool:
    """Whether a stored row needs no write: it is what the payload maps to (same payload, same
    mapper, same id form, not missing), or it was written after the page was fetched (an
    override made through layersadmin meanwhile)."""
    if old is None:
        return False
    if old["synced_at"] and old["synced_at"] > fetched_at:
        return True
    return (
        old["raw"] == fields["raw"]
        and old["layers_id"] == fields["layers_id"]
        and old["mapping_version"] == fields["mapping_version"]
        and not old["is_gone"]
        and not old["missed_walks"]
        and all(old[name] == value for name, value in same.items())
    )


def mark_missing(queryset, seen: set[str]) -> int:
    """After a complete walk: each row of ``queryset`` whose key it did not return has missed
    one more walk (since when is kept for the pages); a row that has now missed
    ``GONE_AFTER_MISSED_WALKS`` in a row is gone. Rows the walk returned were reset when
    written. Returns how many became gone."""
    now = timezone.now()
    stored = queryset.filter(is_gone=False).values_list("key", flat=True).iterator(2000)
    missing = [key for key in stored if key not in seen]
    gone = 0
    for chunk in chunks(missing, BATCH_SIZE):
        rows = queryset.filter(key__in=chunk, is_gone=False)
        gone += rows.filter(missed_walks__gte=GONE_AFTER_MISSED_WALKS - 1).update(
            is_gone=True, missed_walks=F("missed_walks") + 1, synced_at=now
        )
        rows.filter(missing_since__isnull=True).update(missing_since=now)
        rows.filter(is_gone=False).update(missed_walks=F("missed_walks") + 1)
    return gone


def remap_outdated(
    spec: MirrorSpec,
    queryset,
    *,
    link: Callable[[list[dict[str, Any]]], None] | None = None,
) -> int:
    """Map again, from their stored raw payloads, the rows of ``queryset`` mapped with another
    version of the mapper; no API call. ``link`` sets the step's own columns on a batch (the
    container of a creative). Returns how many rows were written."""
    stale = queryset.filter(is_gone=False).exclude(mapping_version=spec.version)
    keep = (*BOOKKEEPING, *(f"{name}_id" for name in spec.linked), "layers_id")
    written = 0
    for batch in chunks(list(stale.values("raw", *keep).iterator(2000)), BATCH_SIZE):
        rows = []
        for old in batch:
            fields = spec.map(old["raw"] if isinstance(old["raw"], dict) else {})
            if fields["key"]:
                rows.append({**fields, **{name: old[name] for name in keep}})
        if link is not None:
            link(rows)
        with transaction.atomic():
            bulk_upsert(spec.model, rows, spec.unique, spec.remap_columns)
        written += len(rows)
    return written


def chunks(values: list, size: int) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
