"""Map a Layers project payload to Project fields (pure: no I/O)."""

from __future__ import annotations

from typing import Any

from layersadmin.layers import payload as p


def project_fields_from_api(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "layers_id": p.text(data.get("id"), 64),
        "name": p.text(data.get("name"), 255),
        "customer_external_id": p.text(data.get("customerExternalId"), 255),
        "status": p.text(data.get("status"), 32) or "active",
        "timezone": p.text(data.get("timezone"), 64) or "UTC",
        "primary_language": p.text(data.get("primaryLanguage"), 35),
        "organization_id": p.text(data.get("organizationId"), 64),
        "owner_email": p.text(data.get("ownerEmail"), 254),
        "created_at": p.timestamp(data.get("createdAt")),
        "updated_at": p.timestamp(data.get("updatedAt")),
        "raw": p.clean(data),
    }
