"""Abstract bases shared by the apps' models."""

from __future__ import annotations

from django.conf import settings
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
    # GET of it answers 404 (``sync.services``).
    missing_since = models.DateTimeField(
        null=True, blank=True, help_text="First complete walk that did not return this row."
    )
    missed_walks = models.PositiveSmallIntegerField(
        default=0, help_text="Consecutive complete walks that did not return this row."
    )
    mapping_version = models.CharField(
        max_length=16,
        blank=True,
        default="",
        help_text="The mapper this row was mapped with; another one maps it again from raw.",
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs) -> None:
        # The key always follows the id (the sync's bulk writes set both from the mapper).
        self.key = id_key(self.layers_id)
        if kwargs.get("update_fields") is not None and "layers_id" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "key"}
        super().save(*args, **kwargs)


class RateBudget(models.Model):
    """The shared rate bucket of one API key and endpoint class (``layersadmin.budget_db``).

    Only ``layersadmin.budget_db`` writes it, with its own SQL: one compare-and-set UPDATE of
    ``tat_us`` per batch of tokens. The key is named by its ``key_id`` hash, never stored.
    """

    key_hash = models.CharField(max_length=16, help_text="First 16 hex of the key's SHA-256.")
    endpoint_class = models.CharField(max_length=16, help_text="read-light or write-light.")
    tat_us = models.BigIntegerField(
        default=0, help_text="The bucket's theoretical arrival time, in µs of the store's clock."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key_hash", "endpoint_class"], name="ratebudget_key_class_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key_hash} {self.endpoint_class}"


class SavedView(models.Model):
    """A person's named filters of one dashboard page (``layersadmin.saved_views``): local
    only, never sent to Layers. The link is the page's address with ``query``, so sharing
    one is copying it; a team view is listed to the members of its group (a Django auth
    Group is a team)."""

    class Visibility(models.TextChoices):
        PERSONAL = "personal", "Only me"
        TEAM = "team", "My team"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    page = models.CharField(
        max_length=64, help_text="The page's URL name (layersadmin.saved_views.PAGES)."
    )
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
        help_text="The project of a project's page; empty for a page across projects.",
    )
    query = models.CharField(
        max_length=2000,
        blank=True,
        help_text="The page's query string, normalised: no empty parameter, no cursor or "
        "page, keys sorted (layersadmin.addresses.query_normalise).",
    )
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.PERSONAL
    )
    group = models.ForeignKey(
        "auth.Group",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="saved_views",
        help_text="The team a team view is listed to (one of the owner's groups).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # One name per person and page; a project's pages count per project (NULLs are
            # distinct in a unique index, so the pages across projects need their own).
            models.UniqueConstraint(
                fields=["owner", "page", "project", "name"],
                condition=models.Q(project__isnull=False),
                name="savedview_owner_page_project_name_unique",
            ),
            models.UniqueConstraint(
                fields=["owner", "page", "name"],
                condition=models.Q(project__isnull=True),
                name="savedview_owner_page_name_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(visibility="personal", group__isnull=True)
                | models.Q(visibility="team", group__isnull=False),
                name="savedview_team_has_group",
            ),
        ]
        indexes = [models.Index(fields=["page", "project"], name="savedview_page_project")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        from layersadmin.saved_views import page_url

        return page_url(page=self.page, project=self.project, query=self.query)

    def clean(self) -> None:
        from layersadmin.saved_views import saved_view_problems

        saved_view_problems(self)
