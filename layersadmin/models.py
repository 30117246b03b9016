"""Abstract bases shared by the apps' models."""

from __future__ import annotations

from django.db import models

from layersadmin.layers.ids import id_key


class SyncedModel(models.Model):
    """A row mirrored from the Layers API: its opaque remote id, the raw payload, when we saw it.

    The sync is the only writer of mirrored fields; local-only state lives in fields whose names
    say so (``local_*``, assignments) and which the sync never writes.
    """

    layers_id = models.CharField(
        "Layers id",
        max_length=64,
        help_text="The id as the API's list returned it: the form every call uses.",
    )
    key = models.CharField(
        "id key",
        max_length=64,
        help_text="The id in normal form (layersadmin.layers.ids.id_key): what joins compare.",
    )
    raw = models.JSONField("raw payload", default=dict, blank=True)
    synced_at = models.DateTimeField(
        help_text="When this row was last written from an API response (sync or our own write)."
    )
    is_gone = models.BooleanField(
        default=False, help_text="No longer returned by the API; kept, never deleted."
    )
    # A row one complete walk did not return is not gone yet (a rescore between two pages can
    # hide it): it is marked gone when a second complete walk in a row misses it, or when a
    # GET of it answers 404 (``projects.services.sync``).
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="First complete walk that did not return this row."
    )
    missed_walks = models.PositiveSmallIntegerField(
        default=0, help_text="Consecutive complete walks that did not return this row."
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        # The key always follows the id (the sync's bulk writes set both from the mapper).
        self.key = id_key(self.layers_id)
        if kwargs.get("update_fields") is not None and "layers_id" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "key"}
        super().save(*args, **kwargs)
