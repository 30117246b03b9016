"""Admin: what arrived from Layers' webhooks and what became of it, for support (read-only)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from layersadmin.admin import ReadOnlyModelAdmin, known_values_filter
from webhooks.models import PendingRefetch, WebhookEvent
from webhooks.vocabulary import REFETCH_KINDS


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "event_id",
        "event_type",
        "status",
        "last_received_at",
        "deliveries",
        "refetch_kind",
        "project_id",
        "container_id",
    )
    list_filter = (
        known_values_filter("status", "status", dict(WebhookEvent.Status.choices)),
        known_values_filter("refetch_kind", "re-fetch", {**REFETCH_KINDS, "": "none"}),
    )
    search_fields = ("=event_id", "=last_delivery_id", "project_id", "container_id", "event_type")
    show_full_result_count = False
    list_per_page = 50
    exclude = ("payload",)
    readonly_fields = (
        "event_id",
        "event_type",
        "status",
        "received_at",
        "last_received_at",
        "deliveries",
        "last_delivery_id",
        "project_id",
        "container_id",
        "refetch_kind",
        "refetch_key",
        "task_id",
        "processed_at",
        "error",
        "payload_pretty",
    )

    @admin.display(description="payload")
    def payload_pretty(self, obj: WebhookEvent):
        # Escaped by format_html: the payload is the sender's text.
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, sort_keys=True))


@admin.register(PendingRefetch)
class PendingRefetchAdmin(ReadOnlyModelAdmin):
    list_display = ("kind", "target_id", "state", "dirty", "enqueued_at", "claimed_at", "task_id")
    list_filter = (known_values_filter("state", "state", dict(PendingRefetch.State.choices)),)
    search_fields = ("=target_key", "target_id", "project_id")
    readonly_fields = (
        "kind",
        "target_id",
        "target_key",
        "project_id",
        "state",
        "dirty",
        "created_at",
        "enqueued_at",
        "claimed_at",
        "claim_token",
        "task_id",
    )
