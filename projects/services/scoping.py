"""Customer scoping (seed 003): before a write for a project, confirm upstream that it still
belongs to the customer we think it does. A confused-deputy bug in our own code (a stale or
swapped project id) then fails loudly instead of writing to another customer's project."""

from __future__ import annotations

from django.core.cache import cache

from layersadmin.layers import CustomerMismatch, LayersClient
from layersadmin.layers import payload as p
from projects.models import Project

CONFIRMATION_SECONDS = 60


def project_assert_customer(*, project: Project, client: LayersClient) -> None:
    """Raise CustomerMismatch unless the API's customerExternalId matches our cached one.

    A confirmation is cached for a minute per (project, customer id).
    """
    cache_key = f"layers:customer-ok:{project.layers_id}:{project.customer_external_id}"
    if cache.get(cache_key):
        return
    data = client.project_get(project.layers_id)
    upstream = p.text(data.get("customerExternalId"), 255)
    if upstream != project.customer_external_id:
        raise CustomerMismatch(
            f"Project {project.layers_id} belongs to customer {upstream!r} upstream, but "
            f"layersadmin has it as {project.customer_external_id!r}. Nothing was changed; "
            "sync the project and check its customer before trying again.",
            request_id=data.request_id,
        )
    cache.set(cache_key, True, CONFIRMATION_SECONDS)
