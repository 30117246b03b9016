"""Map a Layers project payload to Project fields (pure: no I/O)."""

from __future__ import annotations

from typing import Any

from layersadmin.layers import payload as p
from layersadmin.layers.ids import id_key


def customer_external_id_of(data: dict[str, Any]) -> str:
    """The project's customer handle: top level (create/patch pages) or, where the projects
    concept page stores it, ``metadata.partner.customerExternalId`` (seed 003, C5)."""
    value = data.get("customerExternalId")
    if value is None:
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        partner = metadata.get("partner") if isinstance(metadata.get("partner"), dict) else {}
        value = partner.get("customerExternalId")
    return p.text(value, 255).strip()


def project_fields_from_api(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "layers_id": p.text(data.get("id"), 64),
        "key": id_key(data.get("id")),
        "name": p.text(data.get("name"), 255),
        "customer_external_id": customer_external_id_of(data),
        "status": p.text(data.get("status"), 32) or "active",
        "timezone": p.text(data.get("timezone"), 64) or "UTC",
        "primary_language": p.text(data.get("primaryLanguage"), 35),
        "organization_id": p.text(data.get("organizationId"), 64),
        "owner_email": p.text(data.get("ownerEmail"), 254),
        "created_at": p.timestamp(data.get("createdAt")),
        "updated_at": p.timestamp(data.get("updatedAt")),
        "raw": p.clean(data),
    }
