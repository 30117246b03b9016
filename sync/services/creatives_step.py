"""The scored creatives step (ads-content), in two modes.

* **Full walk** (every ``ads_content_full`` cadence, named projects, ``--full``): every row,
  then what the walk missed is marked missing. It is the only read that sees promotions
  starting or stopping, performance blocks, eligibility changes and deletions.
* **Recent read** (on the ``ads_content`` cadence in between), a few pages:
  - ``sort=scored_at_desc`` (REFERENCE 8.6; no seed names it) down to the newest ``scoredAt``
    stored, less an overlap for ties and late writes. The answer is checked to really
    descend by ``scoredAt``; if it does not, or the API refuses the sort, a full walk is done
    instead.
  - Overrides change without a rescore: walks filtered to ``override=include`` and to
    ``override=exclude`` (overrides are few) are the truth about them, and reveal clears:
    a stored override that neither walk returns was cleared upstream.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from creatives.models import ELIGIBILITY_THRESHOLD, AdsContent, ContentContainer, ScoreSample
from creatives.services import creative_display
from layersadmin.layers import LayersClient, Page
from layersadmin.layers import payload as p
from layersadmin.layers.errors import LayersAPIError
from layersadmin.layers.ids import id_key
from projects.models import Project
from sync.services.content_step import mapped_pages, writer_when_new
from sync.services.rows import (
    existing,
    mark_missing,
    remap_outdated,
    unchanged,
    valid_rows,
)
from sync.services.runs import LeaseKeeper, SyncResult, TypeCounts
from sync.services.specs import SCORED_CREATIVES, SEEN
from sync.services.writer import bulk_upsert, column

SCORED_AT_OVERLAP = timedelta(hours=1)
OVERRIDES = ("include", "exclude")


def creatives_step(
    client: LayersClient, result: SyncResult, project: Project, *, lock_name: str, full: bool
) -> bool:
    """Read the project's scored creatives; a full walk unless ``full`` is False and the
    recent read can be trusted. Returns whether a full walk was made."""
    counts = result.count(SCORED_CREATIVES.kind)
    stored = AdsContent.objects.filter(project=project)
    counts.updated += remap_outdated(
        SCORED_CREATIVES, stored, link=lambda rows: _link_containers(project, rows)
    )
    if not full and _recent_read(client, project, counts):
        return False
    seen: set[str] = set()
    keeper = LeaseKeeper(lock_name)
    walker = client.clone()
    pages = walker.ads_content_pages(project.layers_id)
    for page, rows, invalid in mapped_pages(
        pages, SCORED_CREATIVES, writer_when_new(project, SCORED_CREATIVES)
    ):
        page_counts = creatives_store(project, page, rows)
        page_counts.invalid += invalid
        counts.add(page_counts)
        seen.update(id_key(item.get("adsContentId")) for item in page.items)
        keeper.renew()
    walker.close()
    # Scored creatives have no single-row GET: only a second complete walk in a row confirms
    # that one is gone (a rescore between two pages can move a row past the cursor).
    counts.gone += mark_missing(stored, seen)
    return True


def _recent_read(client: LayersClient, project: Project, counts: TypeCounts) -> bool:
    """The recent read; False when it cannot be trusted (then a full walk is due)."""
    newest = AdsContent.objects.filter(project=project).aggregate(newest=Max("scored_at"))
    if newest["newest"] is None:
        return False
    bound = newest["newest"] - SCORED_AT_OVERLAP
    path = f"/projects/{project.layers_id}/ads-content"
    try:
        previous: datetime | None = None
        for page in client.ads_content_pages(project.layers_id, sort="scored_at_desc"):
            if (path, "sort") in client.stats.dropped_params:
                return False  # the API refused the sort: this is its default order
            times = [p.timestamp(item.get("scoredAt")) for item in page.items]
            if any(t is None for t in times) or times != sorted(times, reverse=True):
                return False
            if previous is not None and times and times[0] > previous:
                return False
            counts.add(creatives_store(project, page))
            if not times or times[-1] < bound:
                break
            previous = times[-1]
        for value in OVERRIDES:
            listed: set[str] = set()
            for page in client.ads_content_pages(project.layers_id, override=value):
                counts.add(creatives_store(project, page))
                listed.update(id_key(item.get("adsContentId")) for item in page.items)
            counts.updated += _overrides_cleared(project, value, listed)
    except LayersAPIError as exc:
        if exc.code != "VALIDATION":
            raise
        return False  # a filter this API does not take: the full walk sees everything
    return True


def _overrides_cleared(project: Project, value: str, listed: set[str]) -> int:
    """Stored rows with override ``value`` that the filtered walk no longer returns: cleared
    upstream (or changed, and then the other walk has already stored them). Cleared, the row
    follows the score again (rule 7.1) until the next full walk stores the API's own row."""
    rows = AdsContent.objects.filter(project=project, override=value, is_gone=False)
    cleared = [pk for pk, key in rows.values_list("pk", "key") if key not in listed]
    if not cleared:
        return 0
    now = timezone.now()
    base = AdsContent.objects.filter(pk__in=cleared)
    base.update(override="", override_note="", override_set_by="", override_set_at=None)
    base.filter(organic_score__gte=ELIGIBILITY_THRESHOLD).update(
        is_eligible=True, eligibility_reason="organic score at or above 4.0", synced_at=now
    )
    base.filter(organic_score__lt=ELIGIBILITY_THRESHOLD).update(
        is_eligible=False, eligibility_reason="organic score below 4.0", synced_at=now
    )
    return len(cleared)


def _link_containers(project: Project, rows: list[dict[str, Any]]) -> None:
    """Set each creative's container, matched on id key: seed 001's ``sourceId`` is bare where
    the content list's ``id`` is ``cnt_…``."""
    _containers_linked(project, rows)


def _containers_linked(project: Project, rows: list[dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """``_link_containers``; returns the caption and thumbnail of each container linked, by
    its pk (one query either way)."""
    keys = {id_key(row["source_id"]) for row in rows if row["source_id"]}
    # Looked up by the unique key alone and the project checked here: with the project in
    # the query, SQLite walked the project's containers by another index (8 ms a page, not 1).
    found_rows = (
        ContentContainer.objects.filter(key__in=keys)
        .order_by()
        .values_list("key", "pk", "caption", "thumbnail_url", "project_id")
    )
    containers = {
        key: (pk, caption, thumbnail)
        for key, pk, caption, thumbnail, project_id in found_rows
        if project_id == project.pk
    }
    shown: dict[int, tuple[str, str]] = {}
    for row in rows:
        found = containers.get(id_key(row["source_id"]))
        if found is None:
            row["container_id"] = None
            continue
        row["container_id"] = found[0]
        shown[found[0]] = found[1:]
    return shown


def _display_derived(fields: dict[str, Any], container: tuple[str, str] | None) -> dict:
    """The title and thumbnail ``creative_display_refresh`` derives for a row from its own
    payload and its container (its first two sources), computed the same way, for a new row to
    be inserted with them: the refresh after the project's sync then finds it right and
    writes nothing, where it otherwise rewrote every new row (most of a first sync's time,
    bench/RESULTS.md). The refresh stays the authority: it still derives every row, and alone
    looks at leaderboards. ``{}`` (the refresh derives it, as before) when the payload's title
    or thumbnail is not a string, which the database reads back in its own text form."""
    raw = fields["raw"]
    own_title, own_thumbnail = raw.get("title"), raw.get("thumbnailUrl")
    if not isinstance(own_title, str | None) or not isinstance(own_thumbnail, str | None):
        return {}
    title, thumbnail = creative_display(
        own=(own_title, own_thumbnail), container=container or (None, None)
    )
    return {"title": title, "thumbnail_url": thumbnail}


def creatives_store(
    project: Project, page: Page, rows: dict[str, dict[str, Any]] | None = None
) -> TypeCounts:
    """Write one page of scored creatives (``rows``: the page already mapped), each linked to
    its container; a ScoreSample for every score that changed."""
    counts = TypeCounts()
    if rows is None:
        rows = valid_rows(page.items, SCORED_CREATIVES, counts)
    if not rows:
        return counts
    now = timezone.now()
    with transaction.atomic():
        shown = _containers_linked(project, list(rows.values()))
        stored = existing(
            AdsContent.objects.filter(project=project),
            rows.keys(),
            extra=("organic_score", "container_id"),
        )
        to_create, to_write, rescored = [], [], []
        for key, fields in rows.items():
            old = stored.get(key)
            if unchanged(old, fields, page.fetched_at, container_id=fields["container_id"]):
                counts.unchanged += 1
                continue
            counts.count(old)
            if old is None or old["organic_score"] != fields["organic_score"]:
                rescored.append(key)
            if old is not None:
                to_write.append({**fields, **SEEN, "project_id": project.pk, "synced_at": now})
                continue
            shows = _display_derived(fields, shown.get(fields["container_id"]))
            to_create.append(
                {**fields, **shows, **SEEN, "project_id": project.pk, "synced_at": now}
            )
        columns, unique = SCORED_CREATIVES.columns, SCORED_CREATIVES.unique
        bulk_upsert(AdsContent, to_create, unique, columns, new=True)
        bulk_upsert(AdsContent, to_write, unique, columns)
        if rescored:
            score_samples_insert(project.pk, rescored, observed_at=now)
    return counts


def score_samples_insert(project_pk: int, keys: list[str], *, observed_at) -> None:
    """A ScoreSample for each of the project's creatives with these id keys, with the score
    the upsert just stored: one INSERT ... SELECT in the page's transaction, rather than
    reading their ids back and inserting a row each."""
    ads, sample = AdsContent, ScoreSample
    marks = ", ".join(["%s"] * len(keys))
    # Identifiers from model metadata (quoted); every value is a parameter.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(sample._meta.db_table)} "  # noqa: S608
        f"({column(sample, 'ads_content')}, {column(sample, 'score')}, "
        f"{column(sample, 'scored_at')}, {column(sample, 'observed_at')}) "
        f"SELECT {column(ads, 'id')}, {column(ads, 'organic_score')}, "
        f"{column(ads, 'scored_at')}, %s FROM {connection.ops.quote_name(ads._meta.db_table)} "
        f"WHERE {column(ads, 'project')} = %s AND {column(ads, 'key')} IN ({marks})"
    )
    observed = connection.ops.adapt_datetimefield_value(observed_at)
    with connection.cursor() as cursor:
        cursor.execute(sql, [observed, project_pk, *keys])
