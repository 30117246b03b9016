"""Customer scoping (seed 003): before a write for a project, confirm upstream that it still
belongs to the customer we think it does. A confused-deputy bug in our own code (a stale or
swapped project id) then fails loudly instead of writing to another customer's project.

The customer handle is read where either page puts it: top level or
``metadata.partner.customerExternalId`` (``projects.mapping.customer_external_id_of``). The
outcomes are named:

* the same non-empty handle on both sides: **confirmed**, the write goes ahead;
* empty on both sides: nothing to assert, the write goes ahead **unconfirmed** (the audit
  records it);
* ours set, upstream empty: ``CustomerMissingUpstream``, refused;
* different (or ours empty, upstream set): ``CustomerMismatch``, refused.
"""

from __future__ import annotations

from django.core.cache import cache

from layersadmin.layers import CustomerMismatch, LayersClient
from layersadmin.layers.errors import CustomerMissingUpstream
from projects.mapping import customer_external_id_of
from projects.models import Project

CONFIRMATION_SECONDS = 60
CONFIRMED, UNCONFIRMED = "confirmed", "unconfirmed"  # OverrideAudit.CustomerCheck values


def project_assert_customer(
    *, project: Project, client: LayersClient, max_wait: float | None = None
) -> str:
    """Return ``"confirmed"`` or ``"unconfirmed"``; raise CustomerMismatch (or its subclass
    CustomerMissingUpstream) when the write must not go ahead. An answer that allows the
    write is cached for a minute per (project, customer id)."""
    ours = (project.customer_external_id or "").strip()
    cache_key = f"layers:customer-ok:{project.layers_id}:{ours}"
    cached = cache.get(cache_key)
    if cached in (CONFIRMED, UNCONFIRMED):
        return cached
    options = {"max_wait": max_wait} if max_wait is not None else {}
    data = client.project_get(project.layers_id, **options)
    upstream = customer_external_id_of(data)
    if ours and not upstream:
        raise CustomerMissingUpstream(
            f"Project {project.layers_id} has no customer id upstream any more, but "
            f"layersadmin has it as customer {ours!r}. Nothing was changed; sync the project "
            "and check its customer before trying again.",
            request_id=data.request_id,
        )
    if upstream != ours:
        raise CustomerMismatch(
            f"Project {project.layers_id} belongs to customer {upstream!r} upstream, but "
            f"layersadmin has it as {ours or '(none)'!r}. Nothing was changed; sync the "
            "project and check its customer before trying again.",
            request_id=data.request_id,
        )
    outcome = CONFIRMED if ours else UNCONFIRMED
    cache.set(cache_key, outcome, CONFIRMATION_SECONDS)
    return outcome
