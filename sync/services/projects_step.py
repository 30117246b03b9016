"""The projects step: walk the list (once per run, whichever worker gets there first), look up
with GET each project that dropped out of it, store what changed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from layersadmin.layers import LayersClient, LayersError
from layersadmin.layers.errors import LayersAPIError
from layersadmin.layers.ids import id_key
from projects.models import Project
from sync.locks import sync_lock
from sync.models import SyncRun
from sync.services.rows import existing, mark_missing, remap_outdated, unchanged
from sync.services.rows import valid_rows as map_page
from sync.services.runs import SyncResult, TypeCounts
from sync.services.specs import PROJECTS, SEEN
from sync.services.writer import bulk_upsert

logger = logging.getLogger(__name__)

PROJECTS_LIST_LOCK = "layers-sync:projects"
# A project known from a GET only keeps the id form it has (GET may answer another, C13).
COLUMNS_FROM_GET = tuple(name for name in PROJECTS.columns if name != "layers_id")


def projects_step(
    client: LayersClient, result: SyncResult, *, project_ids: list[str], due_only: bool = False
) -> list[Project]:
    """Bring the projects up to date; return those to sync (``project_ids``, or all).

    ``due_only``: the list is walked only when the last complete walk (any worker's) is older
    than its cadence; until then the stored projects are used, so a run every minute with
    nothing due makes no call."""
    counts = result.count(PROJECTS.kind)
    counts.updated += remap_outdated(PROJECTS, Project.objects.all())
    if project_ids:
        keys = [id_key(pid) for pid in project_ids]
        stored = dict(Project.objects.filter(key__in=keys).values_list("key", "layers_id"))
        for project_id, key in zip(project_ids, keys, strict=True):
            # Call with the form the list gave us when we have it (C13).
            project_lookup(client, counts, stored.get(key, project_id))
        return list(Project.objects.filter(key__in=keys, is_gone=False))

    # The list is walked by one worker at a time; the others wait, then use its result.
    with sync_lock(PROJECTS_LIST_LOCK, wait=600) as acquired:
        listed_since_start = SyncRun.objects.filter(
            projects_listed_at__gte=result.run.started_at
        ).exists()
        if acquired and not listed_since_start and not (due_only and _list_fresh()):
            seen: set[str] = set()
            # The default list hides archived projects (seed 003); ask for them too. The
            # ``status`` filter is REFERENCE's, not a seed's: an API that refuses it (422)
            # leaves archived projects to the GET of every project that drops out below.
            for status in (None, "archived"):
                try:
                    for page in client.projects_pages(status=status):
                        counts.add(projects_store(page.items, fetched_at=page.fetched_at))
                        seen.update(id_key(item.get("id")) for item in page.items)
                except LayersAPIError as exc:
                    if status is None or exc.code != "VALIDATION":
                        raise
                    logger.info("sync: the projects list refuses status=archived: %s", exc)
            gone = _projects_missing(client, counts, seen)  # its GETs count into counts too
            counts.gone += gone
            SyncRun.objects.filter(pk=result.run.pk).update(projects_listed_at=timezone.now())
    return list(Project.objects.filter(is_gone=False).order_by("layers_id"))


def _list_fresh() -> bool:
    last = SyncRun.objects.aggregate(last=Max("projects_listed_at"))["last"]
    return last is not None and timezone.now() - last < PROJECTS.cadence


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
            if project_lookup(client, counts, layers_id):
                confirmed.add(key)  # it exists: stored from the GET's answer
        except LayersError as exc:  # no verdict: this walk's miss counts
            logger.warning("sync: project %s is missing from the list: %s", layers_id, exc)
    return mark_missing(Project.objects.all(), confirmed)


def project_lookup(client: LayersClient, counts: TypeCounts, project_id: str) -> bool:
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
    counts.add(projects_store([data], fetched_at=timezone.now(), from_get=True))
    return True


def projects_store(
    items: list[dict[str, Any]], *, fetched_at: datetime, from_get: bool = False
) -> TypeCounts:
    """Write projects from a list page, or (``from_get``) from single-project GETs, whose id
    may come in another form (C13): the row is matched on its key and keeps its own form."""
    counts = TypeCounts()
    rows = map_page(items, PROJECTS, counts)
    if not rows:
        return counts
    now = timezone.now()
    with transaction.atomic():
        stored = existing(Project.objects.all(), rows.keys())
        to_write = []
        for key, fields in rows.items():
            old = stored.get(key)
            if from_get and old is not None:
                fields["layers_id"] = old["layers_id"]  # keep the list's form
            if unchanged(old, fields, fetched_at):
                counts.unchanged += 1
                continue
            counts.count(old)
            to_write.append({**fields, **SEEN, "synced_at": now})
        bulk_upsert(
            Project, to_write, PROJECTS.unique, COLUMNS_FROM_GET if from_get else PROJECTS.columns
        )
    return counts
