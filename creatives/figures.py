"""A creative's performance figures per window (``CreativeFigures``), derived from what Layers
gives: its top-performers items (seed 000) and its ads-content row's own blocks (seed 001).

* **Boards.** Every top-performers item carries the creative's ``organic`` and ``paid`` figures
  over the board's window, whatever metric ranked it, so the union of a window's stored boards
  gives figures for every creative in any of their top N. Only boards whose filters leave the
  sums whole feed them: a ``platform`` filter restricts the sums to some platforms, so such a
  board's figures are not the creative's; ``sourceType``, ``limit`` and
  ``includeIneligible`` only choose which creatives are listed. Declined boards have no items.
* **Newest wins.** Of each board (metric, filters) only its newest snapshot counts. When
  several boards of a window disagree on a figure (fetched at different times), the figure
  from the most recently fetched board that gives one (a number, not null) is kept, per
  (creative, window, figure): a newer board that leaves a figure out (``paid: null``) does not
  erase an older board's. ``as_of`` is the fetch time of the newest board the creative is in.
  A creative in none of the window's current boards has no figures for it.
* **Rows.** The row's ``organicPerformance`` / ``adPerformance`` (inner fields undocumented,
  REFERENCE 8.6; the sandbox fills views, engagementRate, spend, conversions, roas) say no
  window, so they are kept under a window of their own (``vocabulary.ROW_WINDOW``), as of the
  row's ``scoredAt``, never mixed into the API's windows.

Matching is on id key (``layersadmin.layers.ids.id_key``): seed 000 names a creative
``adc_…``, ads-content names it bare. Each refresh diffs against what is stored and writes
only what changed, in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Subquery

from creatives.models import AdsContent, CreativeFigures, LeaderboardSnapshot
from creatives.vocabulary import (
    FIGURE_NAMES,
    FIGURES,
    ROW_WINDOW,
    SOURCE_BOARD,
    SOURCE_ROW,
    WINDOWS,
)
from layersadmin.layers import payload as p
from layersadmin.layers.ids import id_key
from projects.models import Project

# Filters that change the sums a board's items carry (seed 000: `platform` "restrict[s] to
# posts on these platforms"); a board with any of them feeds no figures.
SUM_CHANGING_FILTERS = ("platform",)


def _section_number(data: Any, section: str, name: str) -> float | None:
    block = data.get(section) if isinstance(data, dict) else None
    return p.number(block.get(name), default=None) if isinstance(block, dict) else None


def figures_from_item(item: Any) -> dict[str, float | None]:
    """A top-performers item's figures (``vocabulary.FIGURES``' board fields)."""
    return {f.name: _section_number(item, *f.board) for f in FIGURES}


def figures_from_row(raw: Any) -> dict[str, float | None]:
    """An ads-content row's own figures (``vocabulary.FIGURES``' row fields)."""
    return {f.name: _section_number(raw, *f.row) for f in FIGURES}


def _feeding_boards(project: Project, window: str) -> list[tuple[datetime, list]]:
    """(fetched_at, items) of the newest snapshot of each board of the window whose items
    carry whole figures, oldest first."""
    newest = LeaderboardSnapshot.objects.filter(
        project=OuterRef("project"),
        metric=OuterRef("metric"),
        window=OuterRef("window"),
        filters_key=OuterRef("filters_key"),
    ).order_by("-fetched_at", "-id")
    snapshots = (
        LeaderboardSnapshot.objects.filter(project=project, window=window, declined=False)
        .filter(pk=Subquery(newest.values("pk")[:1]))
        .order_by("fetched_at", "id")
        .values_list("fetched_at", "filters", "items")
    )
    boards = []
    for fetched_at, filters, items in snapshots:
        filters = filters if isinstance(filters, dict) else {}
        if any(filters.get(name) for name in SUM_CHANGING_FILTERS):
            continue
        boards.append((fetched_at, items if isinstance(items, list) else []))
    return boards


def creative_figures_from_boards(*, project: Project, window: str) -> int:
    """Derive the project's figures over ``window`` from its stored boards (newest wins, see
    the module's docstring). Returns how many figure rows were written or deleted."""
    merged: dict[str, dict[str, Any]] = {}
    for fetched_at, items in _feeding_boards(project, window):  # oldest first: newer overwrite
        for item in items:
            key = id_key(item.get("adsContentId")) if isinstance(item, dict) else ""
            if not key:
                continue  # an unmapped paid ad: no creative of ours
            found = merged.setdefault(key, {name: None for name in FIGURE_NAMES})
            for name, value in figures_from_item(item).items():
                if value is not None:
                    found[name] = value
            found["as_of"] = fetched_at
    wanted = {
        pk: {**merged[key], "source": SOURCE_BOARD}
        for pk, key in AdsContent.objects.filter(project=project, key__in=list(merged)).values_list(
            "pk", "key"
        )
    }
    return _store(project, window, wanted)


def creative_figures_from_rows(*, project: Project, keys: Iterable[str] | None = None) -> int:
    """Derive the row window's figures of the project's creatives (all, or these id keys)
    from their own performance blocks. Returns how many figure rows were written or deleted."""
    rows = AdsContent.objects.filter(project=project)
    if keys is not None:
        rows = rows.filter(key__in=list(keys))
    wanted: dict[int, dict[str, Any]] = {}
    pks = []
    for pk, organic, paid, scored_at, synced_at in rows.values_list(
        "pk", "organic_performance", "ad_performance", "scored_at", "synced_at"
    ).iterator(2000):
        pks.append(pk)
        figures = figures_from_row({"organicPerformance": organic, "adPerformance": paid})
        if any(value is not None for value in figures.values()):
            wanted[pk] = {**figures, "as_of": scored_at or synced_at, "source": SOURCE_ROW}
    return _store(project, ROW_WINDOW, wanted, only=None if keys is None else pks)


def creative_figures_refresh(*, project: Project) -> int:
    """Every window's figures of the project, from its boards and rows (after a sync that
    wrote rows: a creative new since a board was stored gets its figures too)."""
    written = creative_figures_from_rows(project=project)
    for window in WINDOWS:
        written += creative_figures_from_boards(project=project, window=window)
    return written


def _store(
    project: Project,
    window: str,
    wanted: dict[int, dict[str, Any]],
    *,
    only: list[int] | None = None,
) -> int:
    """Make the window's stored figures of the project (or of the creatives ``only``) equal
    ``wanted`` (creative pk -> fields): create, update and delete only what differs."""
    fields = [*FIGURE_NAMES, "source", "as_of"]
    stored = CreativeFigures.objects.filter(ads_content__project=project, window=window)
    if only is not None:
        stored = stored.filter(ads_content_id__in=only)
    existing = {row.ads_content_id: row for row in stored.only("pk", "ads_content_id", *fields)}
    create, update = [], []
    for pk, values in wanted.items():
        row = existing.get(pk)
        if row is None:
            create.append(CreativeFigures(ads_content_id=pk, window=window, **values))
        elif any(getattr(row, name) != values[name] for name in fields):
            for name in fields:
                setattr(row, name, values[name])
            update.append(row)
    gone = [row.pk for pk, row in existing.items() if pk not in wanted]
    # An upsert: a page storing a board on first view and the sync (or another page) may
    # both find a creative's window missing and create it at once; the later write wins
    # instead of failing on the unique (creative, window).
    CreativeFigures.objects.bulk_create(
        create,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["ads_content", "window"],
        update_fields=fields,
    )
    CreativeFigures.objects.bulk_update(update, fields, batch_size=500)
    if gone:
        CreativeFigures.objects.filter(pk__in=gone).delete()
    return len(create) + len(update) + len(gone)
