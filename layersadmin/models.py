"""Abstract bases shared by the apps' models."""

from __future__ import annotations

from django.db import models


class SyncedModel(models.Model):
    """A row mirrored from the Layers API: its opaque remote id, the raw payload, when we saw it.

    The sync is the only writer of mirrored fields; local-only state lives in fields whose names
    say so (``local_*``, assignments) and which the sync never writes.
    """

    layers_id = models.CharField("Layers id", max_length=64)
    raw = models.JSONField("raw payload", default=dict, blank=True)
    synced_at = models.DateTimeField(
        help_text="When this row was last written from an API response (sync or our own write)."
    )
    is_gone = models.BooleanField(
        default=False, help_text="No longer returned by the API; kept, never deleted."
    )

    class Meta:
        abstract = True
