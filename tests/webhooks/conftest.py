"""Helpers for the webhook tests: deliveries signed as Layers signs them (REFERENCE 6)."""

from __future__ import annotations

import json
import time

import pytest

from webhooks.signature import signature_header

SECRET = "whsec_test_" + "s" * 32
OTHER = "whsec_other_" + "o" * 32
URL = "/webhooks/layers/"
PROJECT = "prj_11111111-2222-4333-8444-555555555555"
CONTAINER = "cnt_aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


@pytest.fixture
def secret(settings) -> str:
    settings.LAYERS_WEBHOOK_SECRET = SECRET
    return SECRET


def event(
    event_type: str = "content.generated",
    *,
    event_id: str = "evt_01J0000000000000000000000A",
    data: dict | None = None,
) -> dict:
    return {
        "id": event_id,
        "type": event_type,
        "createdAt": "2026-11-01T12:00:00Z",
        "data": {"id": CONTAINER, "projectId": PROJECT} if data is None else data,
    }


def deliver(
    client,
    payload: dict | bytes,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    timestamp: int | None = None,
    event_id: str | None = "",
    signature: str | None = None,
    **extra,
):
    """POST one delivery as Layers would: the raw body, its signature and its event id (by
    default the payload's ``id``; None sends no X-Layers-Event-Id)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if event_id == "":
        event_id = payload.get("id", "evt_NONE") if isinstance(payload, dict) else "evt_RAW"
    t = int(time.time()) if timestamp is None else timestamp
    headers = {
        "HTTP_X_LAYERS_SIGNATURE": signature
        if signature is not None
        else signature_header(secrets=secrets, timestamp=t, body=body)
    }
    if event_id is not None:
        headers["HTTP_X_LAYERS_EVENT_ID"] = event_id
    return client.generic("POST", URL, body, content_type="application/json", **headers, **extra)
