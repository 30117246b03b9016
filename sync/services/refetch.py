"""Re-fetch one object from the Layers API and store it, outside the sync's walks.

Run as a background task (``sync.tasks``): a person asks for a fresh copy of one thing
without waiting for the next sync. A project is re-fetched by the sync itself
(``layers_sync(project_ids=[id])`` GETs the project, then syncs it); a container has no
single-object path in the sync, so it is here.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from creatives.counts import project_counts_refresh
from creatives.mapping import container_fields_from_api
from creatives.models import AdsContent, ContentContainer
from layersadmin.layers import LayersClient, LayersProtocolError, get_client
from layersadmin.layers.errors import LayersAPIError
from layersadmin.layers.ids import id_key
from projects.models import Project


def container_refetch(
    *, container_id: str, client: LayersClient | None = None
) -> ContentContainer | None:
    """GET /content/{id} and store the container; ``None`` when the API answers 404, which
    marks a stored row gone at once (as the sync does when its GET of a missing container
    answers 404).

    The row is matched on its id key: a single-object answer may name it in another form than
    the list (C13), and an existing row keeps the form it has (the list's, which calls use).
    Its project is the stored row's, else the one the answer's ``projectId`` names, which must
    be mirrored already. Other API errors propagate (the task fails and says so).
    """
    key = id_key(container_id)
    if not key:
        raise ValueError("container_refetch needs a container id")
    stored = ContentContainer.objects.filter(key=key).select_related("project").first()
    own_client = client is None
    client = client or get_client()
    try:
        try:
            data = client.content_get(stored.layers_id if stored else container_id)
        except LayersAPIError as exc:
            if exc.code != "NOT_FOUND":
                raise
            if stored is not None:
                now = timezone.now()
                ContentContainer.objects.filter(pk=stored.pk, is_gone=False).update(
                    is_gone=True, missing_since=now, synced_at=now
                )
                project_counts_refresh(project=stored.project)
            return None
    finally:
        if own_client:
            client.close()
    return _store(data, key=key, stored=stored)


def _store(data: dict, *, key: str, stored: ContentContainer | None) -> ContentContainer:
    fields = container_fields_from_api(data)
    if fields.pop("key") != key:
        raise LayersProtocolError(f"GET /content/{key} answered another container")
    layers_id = fields.pop("layers_id")
    project = stored.project if stored is not None else _project_of(data)
    if fields["created_at"] is None:
        if stored is None:
            raise LayersProtocolError(f"container {layers_id} has no createdAt")
        fields["created_at"] = stored.created_at
    now = timezone.now()
    with transaction.atomic():
        container, _ = ContentContainer.objects.update_or_create(
            key=key,
            defaults={
                **fields,
                "project": project,
                "synced_at": now,
                "is_gone": False,
                "missing_since": None,
                "missed_walks": 0,
            },
            create_defaults={
                **fields,
                "project": project,
                "layers_id": layers_id,
                "synced_at": now,
            },
        )
    # What pages derive from containers: the creatives' titles and thumbnails, the counts.
    from creatives.services import creative_display_refresh

    keys = AdsContent.objects.filter(container=container).values_list("key", flat=True)
    creative_display_refresh(project=project, keys=list(keys))
    project_counts_refresh(project=project)
    return container


def _project_of(data: dict) -> Project:
    project_key = id_key(data.get("projectId"))
    project = Project.objects.filter(key=project_key).first() if project_key else None
    if project is None:
        raise Project.DoesNotExist(
            f"container {data.get('id')!r} belongs to project {data.get('projectId')!r}, "
            "which is not synced yet: sync that project instead"
        )
    return project
