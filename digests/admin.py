"""Admin for the digests: each sending, read-only (support sees what went out, what failed
and why). Deleting a row lets the next run send that digest again: the way to resend one
left ``sending`` by a crash (``digests.services``)."""

from __future__ import annotations

from django.contrib import admin

from digests.models import DigestSending
from layersadmin.admin import ReadOnlyModelAdmin


@admin.register(DigestSending)
class DigestSendingAdmin(ReadOnlyModelAdmin):
    list_display = (
        "user",
        "frequency",
        "period_start",
        "timezone",
        "status",
        "alert_count",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "frequency")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "recipient")
    raw_id_fields = ("user",)
    date_hierarchy = "period_start"
    show_full_result_count = False
