"""Writes to projects through the Layers API; the local row is stored from the answer."""

from __future__ import annotations

from django.utils import timezone

from layersadmin.layers import LayersClient, get_client
from projects.mapping import project_fields_from_api
from projects.models import Project
from projects.services.scoping import project_assert_customer


def _store(data: dict) -> Project:
    fields = project_fields_from_api(data)
    layers_id = fields.pop("layers_id")
    project, _ = Project.objects.update_or_create(
        layers_id=layers_id, defaults={**fields, "synced_at": timezone.now(), "is_gone": False}
    )
    return project


def project_archive(*, project: Project, client: LayersClient | None = None) -> Project:
    """DELETE (soft archive) after confirming the customer; then store the project as read."""
    client = client or get_client()
    project_assert_customer(project=project, client=client)
    client.project_archive(project.layers_id)
    return _store(client.project_get(project.layers_id))
