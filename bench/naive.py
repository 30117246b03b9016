"""The baseline of measure 1: the same data written the naive way.

Same client, same pages (limit 200), same mapping functions as the sync; then one
``Model.objects.update_or_create(...)`` per row (Django runs each in its own transaction: a
SELECT, then an INSERT or UPDATE, then a commit). The container of a scored creative is
looked up in a dict built once per project (one query), not per row, so the baseline is
exactly "one update_or_create per row" and nothing slower.

What it does not do (the sync does all of these on its side of the comparison, on its own
clock): leaderboards (5 calls per project), score history rows, sync-run records, locks,
marking rows gone, diffing against stored rows.
"""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone

from creatives.mapping import ads_content_fields_from_api, container_fields_from_api
from creatives.models import AdsContent, ContentContainer
from layersadmin.layers import LayersClient
from projects.mapping import project_fields_from_api
from projects.models import Project


def naive_sync(client: LayersClient, project_ids: list[str]) -> dict[str, Any]:
    before = client.stats.snapshot()
    rows = {"projects": 0, "containers": 0, "ads_content": 0}
    started = time.perf_counter()
    for project_id in project_ids:
        fields = project_fields_from_api(client.project_get(project_id))
        layers_id = fields.pop("layers_id")
        project, _ = Project.objects.update_or_create(
            layers_id=layers_id, defaults={**fields, "synced_at": timezone.now()}
        )
        rows["projects"] += 1
        for page in client.content_pages(project_id):
            for item in page.items:
                fields = container_fields_from_api(item)
                layers_id = fields.pop("layers_id")
                ContentContainer.objects.update_or_create(
                    layers_id=layers_id,
                    defaults={**fields, "project": project, "synced_at": timezone.now()},
                )
                rows["containers"] += 1
        containers = dict(
            ContentContainer.objects.filter(project=project).values_list("layers_id", "pk")
        )
        for page in client.ads_content_pages(project_id):
            for item in page.items:
                fields = ads_content_fields_from_api(item)
                layers_id = fields.pop("layers_id")
                AdsContent.objects.update_or_create(
                    project=project,
                    layers_id=layers_id,
                    defaults={
                        **fields,
                        "container_id": containers.get(fields["source_id"]),
                        "synced_at": timezone.now(),
                    },
                )
                rows["ads_content"] += 1
    wall = time.perf_counter() - started
    after = client.stats.snapshot()
    written = rows["containers"] + rows["ads_content"]
    return {
        "wall_s": wall,
        "rows": written,
        "rows_by_kind": rows,
        "rows_per_s": written / wall if wall else 0.0,
        "api_calls": after["calls"] - before["calls"],
        "projects": len(project_ids),
    }
