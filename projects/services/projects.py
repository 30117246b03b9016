"""Writes to projects through the Layers API; the local row is stored from the answer."""

from __future__ import annotations

from django.utils import timezone

from layersadmin.layers import LayersClient, get_client
from projects.mapping import project_fields_from_api
from projects.models import Project
from projects.services.scoping import project_assert_customer


def _store(data: dict) -> Project:
    """Store a project from a single-project answer (GET, POST, PATCH), matched on its id key:
    such an answer may name it in another form than the list (C13), and an existing row keeps
    the form it has (the list's, which calls use)."""
    fields = project_fields_from_api(data)
    layers_id = fields.pop("layers_id")
    project, _ = Project.objects.update_or_create(
        key=fields.pop("key"),
        defaults={**fields, "synced_at": timezone.now(), "is_gone": False},
        create_defaults={**fields, "layers_id": layers_id, "synced_at": timezone.now()},
    )
    return project


def project_archive(*, project: Project, client: LayersClient | None = None) -> Project:
    """DELETE (soft archive) after confirming the customer; then store the project as read."""
    client = client or get_client()
    project_assert_customer(project=project, client=client)
    client.project_archive(project.layers_id)
    return _store(client.project_get(project.layers_id))


def project_create(
    *,
    name: str,
    timezone_name: str,
    customer_external_id: str = "",
    client: LayersClient | None = None,
) -> Project:
    """POST /projects with an Idempotency-Key and store the project from the answer. Its
    first sync is the caller's to queue (``sync.admin.ProjectSyncAdmin.project_created``)."""
    from layersadmin.layers import new_idempotency_key

    client = client or get_client()
    body = {"name": name, "timezone": timezone_name}
    if customer_external_id:
        body["customerExternalId"] = customer_external_id
    data = client.project_create(data=body, idempotency_key=new_idempotency_key())
    return _store(data)


def project_update(
    *, project: Project, changes: dict, client: LayersClient | None = None
) -> Project:
    """PATCH the user-editable fields that changed; store the project as the API returns it."""
    from layersadmin.layers import new_idempotency_key

    client = client or get_client()
    project_assert_customer(project=project, client=client)
    data = client.project_update(
        project.layers_id, data=changes, idempotency_key=new_idempotency_key()
    )
    return _store(data)
