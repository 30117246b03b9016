"""Writes for creatives: the override (include / exclude / clear) and leaderboard snapshots.

Both go through the Layers API and then store what the API answered, never what we asked.
The dashboard, the admin and the sync all call these.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from creatives.mapping import ads_content_fields_from_api
from creatives.models import AdsContent, LeaderboardSnapshot, OverrideAudit, ScoreSample
from layersadmin.layers import (
    LayersAPIError,
    LayersClient,
    LayersError,
    LayersOutcomeUnknown,
    LayersUnavailable,
    get_client,
)
from layersadmin.layers import payload as p
from projects.models import Project
from projects.services.counts import project_counts_refresh
from projects.services.scoping import project_assert_customer

NOTE_MAX_LENGTH = 280  # seed 001
OVERRIDE_CHOICES = ("include", "exclude", "")  # "" clears (the API's null)
IN_FLIGHT_WINDOW = timedelta(seconds=60)
_KEY_NAMESPACE = uuid.UUID("6d1f4c1e-7b7a-4f53-9a5e-3f2b1c0d9e8a")


class OverrideInProgress(LayersError):
    """Another change to this creative is still waiting for the API's answer."""

    code = "OVERRIDE_IN_PROGRESS"


@dataclass
class OverrideResult:
    ads_content: AdsContent
    audit: OverrideAudit
    replayed: bool = False


def override_validate(*, override: Any, note: Any) -> tuple[str, str]:
    """Normalise and check an override request; raises ValidationError with clear messages."""
    errors: dict[str, str] = {}
    value = "" if override in (None, "", "clear", "none") else override
    if not isinstance(value, str) or value not in OVERRIDE_CHOICES:
        errors["override"] = "Choose include, exclude or clear."
    note = "" if note is None else note
    if not isinstance(note, str):
        errors["note"] = "The note must be text."
    else:
        note = note.replace("\x00", "").strip()
        if len(note) > NOTE_MAX_LENGTH:
            errors["note"] = (
                f"The note is {len(note)} characters; the API takes at most {NOTE_MAX_LENGTH}."
            )
    if errors:
        raise ValidationError(errors)
    return value, note


# What the project list shows of a creative (projects.services.counts): an override whose
# answer changes one of these refreshes the project's stored figures.
LISTED_FIELDS = ("is_eligible", "is_gone", "organic_score", "title", "thumbnail_url")


def creative_override_set(
    *,
    ads_content: AdsContent,
    user,
    override: Any,
    note: Any = "",
    form_token: str = "",
    source: str = "dashboard",
    client: LayersClient | None = None,
) -> OverrideResult:
    """Include, exclude or clear (``override=""``) a creative through the API, with an audit.

    The audit entry is written first (outcome pending), the project's customer is confirmed
    upstream (seed 003), the PATCH is sent with an Idempotency-Key, and the row is updated
    from the API's response. ``form_token`` identifies one submitted form: the same form sent
    twice (a double click) makes the same key, so the API applies it once.

    Raises ValidationError (bad input), OverrideInProgress, CustomerMismatch, LayersAPIError
    (refused: the row is unchanged) or LayersOutcomeUnknown / LayersUnavailable (no answer).
    """
    override, note = override_validate(override=override, note=note)
    project = ads_content.project
    seed = f"{ads_content.pk}:{form_token}:{override}:{note}" if form_token else uuid.uuid4().hex
    idempotency_key = str(uuid.uuid5(_KEY_NAMESPACE, seed))

    with transaction.atomic():
        row = AdsContent.objects.select_for_update().get(pk=ads_content.pk)
        previous = (
            OverrideAudit.objects.filter(ads_content=row, idempotency_key=idempotency_key)
            .order_by("-created_at")
            .first()
        )
        if previous is not None and previous.outcome == OverrideAudit.Outcome.SUCCEEDED:
            return OverrideResult(ads_content=row, audit=previous, replayed=True)
        in_flight = OverrideAudit.objects.filter(
            ads_content=row,
            outcome=OverrideAudit.Outcome.PENDING,
            created_at__gte=timezone.now() - IN_FLIGHT_WINDOW,
        ).exclude(idempotency_key=idempotency_key)
        if in_flight.exists():
            raise OverrideInProgress(
                "Another change to this creative is still being sent; wait for it to finish."
            )
        audit = OverrideAudit.objects.create(
            user=user,
            project=project,
            ads_content=row,
            source=source,
            before_override=row.override,
            before_note=row.override_note,
            after_override=override,
            note=note,
            idempotency_key=idempotency_key,
        )

    client = client or get_client()
    try:
        project_assert_customer(project=project, client=client)
        data = client.ads_content_override_set(
            project.layers_id,
            row.layers_id,
            override=override or None,
            note=note or None,
            idempotency_key=idempotency_key,
        )
    except (LayersOutcomeUnknown, LayersUnavailable) as exc:
        _audit_finish(audit, OverrideAudit.Outcome.UNKNOWN, exc)
        raise
    except LayersError as exc:
        _audit_finish(audit, OverrideAudit.Outcome.FAILED, exc)
        raise

    fields = ads_content_fields_from_api(data)
    if fields["layers_id"] != row.layers_id:
        exc = LayersAPIError(
            "The API answered with a different creative than the one changed.",
            code="PROTOCOL",
            request_id=data.request_id,
        )
        _audit_finish(audit, OverrideAudit.Outcome.UNKNOWN, exc)
        raise exc
    now = timezone.now()
    with transaction.atomic():
        row = AdsContent.objects.select_for_update().get(pk=row.pk)
        old_score = row.organic_score
        listed_before = [getattr(row, name) for name in LISTED_FIELDS]
        for name, value in fields.items():
            if name != "layers_id":
                setattr(row, name, value)
        row.synced_at = now
        row.is_gone = False
        row.save()
        if [getattr(row, name) for name in LISTED_FIELDS] != listed_before:
            project_counts_refresh(project=project)  # the answer moved the project's figures
        if row.organic_score != old_score:
            ScoreSample.objects.create(
                ads_content=row, score=row.organic_score, scored_at=row.scored_at, observed_at=now
            )
        audit.outcome = OverrideAudit.Outcome.SUCCEEDED
        audit.request_id = data.request_id
        audit.response_set_by = row.override_set_by
        audit.completed_at = now
        audit.save(update_fields=["outcome", "request_id", "response_set_by", "completed_at"])
    return OverrideResult(ads_content=row, audit=audit)


def _audit_finish(audit: OverrideAudit, outcome: str, exc: LayersError) -> None:
    audit.outcome = outcome
    audit.error_code = exc.code[:64]
    audit.error_message = exc.message[:2000]
    audit.request_id = exc.request_id[:64]
    audit.completed_at = timezone.now()
    audit.save(
        update_fields=["outcome", "error_code", "error_message", "request_id", "completed_at"]
    )


# --- leaderboards -------------------------------------------------------------------------------

METRICS = ("views", "engagement_rate", "conversions", "roas", "watch_time_ms")
WINDOWS = ("7d", "30d", "90d")


def leaderboard_filters(
    *,
    source_types: list[str] | None = None,
    platforms: list[str] | None = None,
    limit: int | None = None,
    include_ineligible: bool = False,
) -> dict[str, Any]:
    """The canonical filters of a leaderboard (only what differs from the API's defaults)."""
    filters: dict[str, Any] = {}
    if source_types:
        filters["sourceType"] = sorted(set(source_types))
    if platforms:
        filters["platform"] = sorted(set(platforms))
    if limit and limit != 25:
        filters["limit"] = int(limit)
    if include_ineligible:
        filters["includeIneligible"] = True
    return filters


def filters_key(filters: dict[str, Any]) -> str:
    return json.dumps(filters, sort_keys=True, separators=(",", ":")) if filters else ""


def leaderboard_refresh(
    *,
    project: Project,
    metric: str,
    window: str = "30d",
    source_types: list[str] | None = None,
    platforms: list[str] | None = None,
    limit: int | None = None,
    include_ineligible: bool = False,
    client: LayersClient | None = None,
) -> tuple[LeaderboardSnapshot, bool]:
    """Fetch top-performers live and store a snapshot when it differs from the latest one.

    Returns ``(snapshot, created)``. An unchanged answer stores nothing (a no-change sync
    writes no rows) and returns the latest snapshot.
    """
    filters = leaderboard_filters(
        source_types=source_types,
        platforms=platforms,
        limit=limit,
        include_ineligible=include_ineligible,
    )
    key = filters_key(filters)
    client = client or get_client()
    data = client.top_performers(
        project.layers_id,
        metric=metric,
        window=window,
        source_types=filters.get("sourceType"),
        platforms=filters.get("platform"),
        limit=filters.get("limit"),
        include_ineligible=include_ineligible,
    )
    items = data.get("items")
    items = (
        p.clean([item for item in items if isinstance(item, dict)])
        if isinstance(items, list)
        else []
    )
    latest = (
        LeaderboardSnapshot.objects.filter(
            project=project, metric=metric, window=window, filters_key=key
        )
        .order_by("-fetched_at", "-id")
        .first()
    )
    if latest is not None and latest.items == items:
        return latest, False
    snapshot = LeaderboardSnapshot.objects.create(
        project=project,
        metric=metric,
        window=window,
        filters=filters,
        filters_key=key,
        fetched_at=timezone.now(),
        items=items,
        raw=p.clean({k: v for k, v in data.items() if k != "items"}),
    )
    return snapshot, True
