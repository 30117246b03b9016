"""Writes for creatives: the override (include / exclude / clear) and leaderboard snapshots.

Both go through the Layers API and then store what the API answered, never what we asked.
The dashboard, the admin and the sync all call these.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.fields.json import KT
from django.utils import timezone

from creatives.counts import project_counts_refresh
from creatives.figures import creative_figures_from_boards
from creatives.mapping import ads_content_fields_from_api, leaderboard_fields_from_api
from creatives.models import AdsContent, LeaderboardSnapshot, OverrideAudit, ScoreSample
from creatives.notes import NOTE_MAX_LENGTH, note_length, note_normalise, note_too_long_message
from creatives.vocabulary import ARCHIVED_REFUSED, NOTHING_TO_CLEAR
from creatives.vocabulary import METRICS as METRICS
from creatives.vocabulary import WINDOWS as WINDOWS
from layersadmin.layers import (
    LayersAPIError,
    LayersClient,
    LayersError,
    LayersOutcomeUnknown,
    LayersUnavailable,
    get_client,
)
from layersadmin.layers import payload as p
from layersadmin.layers.ids import id_key, same_id
from projects.models import Project
from projects.services.scoping import project_assert_customer

OVERRIDE_CHOICES = ("include", "exclude", "")  # "" clears (the API's null)
IN_FLIGHT_WINDOW = timedelta(seconds=60)


class OverrideInProgress(LayersError):
    """Another change to this creative is still waiting for the API's answer."""

    code = "OVERRIDE_IN_PROGRESS"


class OverrideRefused(LayersError):
    """Refused before anything was sent (or by the API for a reason we can name): nothing
    changed, and sending it again would not help."""

    code = "OVERRIDE_REFUSED"


class ProjectArchived(OverrideRefused):
    """The creative's project is archived: its overrides are locked (seed 003)."""

    code = "PROJECT_ARCHIVED"


class NothingToClear(OverrideRefused):
    """A clear of a creative with no override: nothing to send, nothing to audit."""

    code = "NOTHING_TO_CLEAR"


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
        note = note_normalise(note)
        if note_length(note) > NOTE_MAX_LENGTH:
            errors["note"] = note_too_long_message(note_length(note))
    if errors:
        raise ValidationError(errors)
    return value, note


# What the project list shows of a creative (creatives.counts): an override whose
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
    idempotency_key: str = "",
    background: bool = False,
) -> OverrideResult:
    """Include, exclude or clear (``override=""``) a creative through the API, with an audit.

    Refused before anything is written or sent (``OverrideRefused``): a project stored as
    archived (``ProjectArchived``; seed 003), and a clear when no override is set
    (``NothingToClear``: a "none -> none" change is not one, so it leaves no audit entry). An
    archived project the API names (409 CONFLICT with ``details.status`` "archived") is stored
    as archived and raised as ``ProjectArchived`` too (its audit entry says failed).

    Every outcome is named:

    1. The audit entry is written first (outcome pending), so an interrupted request still
       leaves a trace.
    2. The Idempotency-Key is a fresh v4 UUID per logical operation: one submitted form
       (``form_token``, made when the form was rendered) with one body (override, note). It is
       stored with the audit entry and reused when the same form is sent again with the same
       body (a double click, a retry after "unknown"); a changed note is a new operation with
       a new key. The key itself is never taken from the request. A bulk action
       (``creatives.bulk``) passes the key it made for the row when it was created
       (``idempotency_key``, with the same value as ``form_token``): a retried task sends it again.
    3. The project's customer is confirmed upstream (seed 003; ``project_assert_customer``):
       confirmed or unconfirmed (no customer on either side) is recorded on the audit entry.
    4. The PATCH is sent; a person never waits past ``LAYERS_INTERACTIVE_MAX_WAIT`` for the
       rate budget (``LayersBusy``: nothing was changed). A worker (``background``) waits as
       long as the pacing takes, behind people's requests, as the sync does.
    5. The row is stored from the API's answer, which may name the creative in another id
       form (``same_id``).

    Raises ValidationError (bad input), OverrideRefused, OverrideInProgress, CustomerMismatch,
    LayersBusy, LayersAPIError (refused: the row is unchanged) or LayersOutcomeUnknown /
    LayersUnavailable (no answer).
    """
    override, note = override_validate(override=override, note=note)
    project = ads_content.project
    if project.is_archived:
        raise ProjectArchived(ARCHIVED_REFUSED)

    with transaction.atomic():
        row = AdsContent.objects.select_for_update().get(pk=ads_content.pk)
        previous = _same_operation(row, form_token=form_token, override=override, note=note)
        if previous is not None and previous.outcome == OverrideAudit.Outcome.SUCCEEDED:
            return OverrideResult(ads_content=row, audit=previous, replayed=True)
        if not override and not row.override:
            raise NothingToClear(NOTHING_TO_CLEAR)
        if previous is not None:
            idempotency_key = previous.idempotency_key
        else:
            idempotency_key = idempotency_key[:64] or str(uuid.uuid4())
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
            form_token=form_token[:64],
        )

    client = client or get_client()
    max_wait = None if background else settings.LAYERS_INTERACTIVE_MAX_WAIT
    try:
        audit.customer_check = project_assert_customer(
            project=project, client=client, max_wait=max_wait
        )
        data = client.ads_content_override_set(
            project.layers_id,
            row.layers_id,
            override=override or None,
            note=note or None,
            idempotency_key=idempotency_key,
            max_wait=max_wait,
        )
    except (LayersOutcomeUnknown, LayersUnavailable) as exc:
        _audit_finish(audit, OverrideAudit.Outcome.UNKNOWN, exc)
        raise
    except LayersError as exc:
        _audit_finish(audit, OverrideAudit.Outcome.FAILED, exc)
        if _names_archived(exc):
            # Archived upstream since our last sync: stored as the API says, refused as such.
            Project.objects.filter(pk=project.pk).update(status=Project.Status.ARCHIVED)
            raise ProjectArchived(
                ARCHIVED_REFUSED,
                status=exc.status,
                code=exc.code,  # the API's, as the audit entry records it
                request_id=exc.request_id,
                details=exc.details,
            ) from exc
        raise

    fields = ads_content_fields_from_api(data)
    if fields["key"] and not same_id(fields["layers_id"], row.layers_id):
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
            if name not in ("layers_id", "key"):  # the list's form of the id stays
                setattr(row, name, value)
        row.synced_at = now
        row.is_gone = False
        row.missing_since, row.missed_walks = None, 0
        row.save()
        creative_display_refresh(project=project, keys=[row.key])
        row.refresh_from_db(fields=["title", "thumbnail_url"])
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
        audit.save(
            update_fields=[
                "outcome",
                "request_id",
                "response_set_by",
                "completed_at",
                "customer_check",
            ]
        )
    return OverrideResult(ads_content=row, audit=audit)


def _names_archived(exc: LayersError) -> bool:
    """The API refused because the project is archived: 409 CONFLICT whose details name the
    project's status (the code and details, never the message text)."""
    details = exc.details if isinstance(exc.details, dict) else {}
    return (
        isinstance(exc, LayersAPIError)
        and exc.code == "CONFLICT"
        and details.get("status") == Project.Status.ARCHIVED
    )


def _same_operation(
    row: AdsContent, *, form_token: str, override: str, note: str
) -> OverrideAudit | None:
    """The newest audit entry of this very operation (same form, same body), if any."""
    if not form_token:
        return None
    return (
        OverrideAudit.objects.filter(
            ads_content=row, form_token=form_token[:64], after_override=override, note=note
        )
        .order_by("-created_at", "-id")
        .first()
    )


def _audit_finish(audit: OverrideAudit, outcome: str, exc: LayersError) -> None:
    audit.outcome = outcome
    audit.error_code = exc.code[:64]
    audit.error_message = exc.message[:2000]
    audit.request_id = exc.request_id[:64]
    audit.completed_at = timezone.now()
    audit.save(
        update_fields=[
            "outcome",
            "error_code",
            "error_message",
            "request_id",
            "completed_at",
            "customer_check",
        ]
    )


# --- what pages show of a creative -------------------------------------------------------------


def creative_display_refresh(*, project: Project, keys: Iterable[str] | None = None) -> int:
    """Derive the title and thumbnail the pages show of the project's scored creatives (all,
    or those with these id keys) from whatever the API gives, first that has one:

    1. the row's own ``title`` / ``thumbnailUrl`` (our sandbox's older reading; seed 001's
       row has neither);
    2. its container: the caption's first line; the preview's or primaryAsset's thumbnail;
    3. its row in the newest snapshot of any of the project's leaderboards (seed 000's items
       carry both), matched on id key (``adc_…`` there, bare in ads-content).

    Called after every project sync and after an override's answer is stored; writes only the
    rows whose values change. Returns how many.
    """
    rows = AdsContent.objects.filter(project=project)
    if keys is not None:
        rows = rows.filter(key__in=list(keys))
    values = rows.annotate(own_title=KT("raw__title"), own_thumbnail=KT("raw__thumbnailUrl"))
    boards = _leaderboard_display(project)
    changed = []
    for (
        pk,
        key,
        title,
        thumbnail,
        own_title,
        own_thumbnail,
        caption,
        container_thumb,
    ) in values.values_list(
        "pk",
        "key",
        "title",
        "thumbnail_url",
        "own_title",
        "own_thumbnail",
        "container__caption",
        "container__thumbnail_url",
    ).iterator(2000):
        new_title, new_thumbnail = creative_display(
            own=(own_title, own_thumbnail),
            container=(caption, container_thumb),
            board=boards.get(key, ("", "")),
        )
        if (new_title, new_thumbnail) != (title, thumbnail):
            changed.append(AdsContent(pk=pk, title=new_title, thumbnail_url=new_thumbnail))
    AdsContent.objects.bulk_update(changed, ["title", "thumbnail_url"], batch_size=500)
    return len(changed)


def creative_display(
    *,
    own: tuple[Any, Any],
    container: tuple[str | None, str | None] = (None, None),
    board: tuple[str, str] = ("", ""),
) -> tuple[str, str]:
    """(title, thumbnail) a creative shows, from its sources in order (its own row's
    ``title``/``thumbnailUrl``, its container's caption and thumbnail, its leaderboard row):
    the one rule ``creative_display_refresh`` applies and the sync inserts new rows with."""
    (own_title, own_thumbnail), (caption, container_thumb) = own, container
    title = p.text(own_title, 500).strip() or _caption_title(caption) or board[0]
    thumbnail = p.url(own_thumbnail) or p.url(container_thumb) or board[1]
    return title, thumbnail


def _caption_title(caption: str | None) -> str:
    for line in (caption or "").splitlines():
        if line.strip():
            return line.strip()[:500]
    return ""


def _leaderboard_display(project: Project) -> dict[str, tuple[str, str]]:
    """id key -> (title, thumbnail) from the project's newest snapshots, newest first."""
    from creatives.selectors import latest_snapshots

    found: dict[str, tuple[str, str]] = {}
    snapshots = latest_snapshots(LeaderboardSnapshot.objects.filter(project=project))
    for items in snapshots.order_by("-fetched_at", "-id").values_list("items", flat=True):
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            key = id_key(item.get("adsContentId"))
            title = p.text(item.get("title"), 500).strip()
            thumbnail = p.url(item.get("thumbnailUrl"))
            if key and key not in found and (title or thumbnail):
                found[key] = (title, thumbnail)
    return found


# --- leaderboards -------------------------------------------------------------------------------

# METRICS and WINDOWS are named in creatives.vocabulary (imported above, kept importable here).


def leaderboard_configured() -> list[tuple[str, str]]:
    """The (metric, window) pairs of ``LAYERS_LEADERBOARDS`` (read at call time), once each,
    in order: the boards the sync keeps with the default filters, which are never evicted
    (``creatives.demand``)."""
    boards: list[tuple[str, str]] = []
    for pair in settings.LAYERS_LEADERBOARDS:
        metric, _, window = pair.partition(":")
        if (metric, window or "30d") not in boards:
            boards.append((metric, window or "30d"))
    return boards


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


@dataclass
class BoardAnswer:
    """A top-performers answer as data (fetched on any thread, stored on the caller's): the
    snapshot's fields, or the API's refusal of these controls."""

    fields: dict[str, Any] | None
    declined: LayersAPIError | None = None


def leaderboard_fetch(
    *,
    client: LayersClient,
    project_id: str,
    metric: str,
    window: str,
    filters: dict[str, Any],
    max_wait: float | None = None,
) -> BoardAnswer:
    """GET top-performers for these canonical ``filters``; touches no database.

    A 422 VALIDATION is an answer, not an error: the API declines these controls (seed 000: a
    paid metric with an organic-only source mix; which mixes that covers, the docs
    contradict), and the board is stored as declined with the API's words.
    """
    try:
        data = client.top_performers(
            project_id,
            metric=metric,
            window=window,
            source_types=filters.get("sourceType"),
            platforms=filters.get("platform"),
            limit=filters.get("limit"),
            include_ineligible=bool(filters.get("includeIneligible")),
            **({"max_wait": max_wait} if max_wait is not None else {}),
        )
    except LayersAPIError as exc:
        if exc.code != "VALIDATION":
            raise
        return BoardAnswer(fields=None, declined=exc)
    return BoardAnswer(fields=leaderboard_fields_from_api(data))


def leaderboard_store(
    *, project: Project, metric: str, window: str, filters: dict[str, Any], answer: BoardAnswer
) -> tuple[LeaderboardSnapshot, bool]:
    """Store a snapshot when the answer differs from the newest one; snapshots are history,
    appended, never updated or marked gone. Returns ``(snapshot, created)``: an unchanged
    answer stores nothing (a no-change sync writes no rows) and returns the newest. A stored
    one derives its window's figures again (``creatives.figures``: newest board wins)."""
    latest = _latest_snapshot(project, metric=metric, window=window, key=filters_key(filters))
    if answer.declined is not None:
        exc = answer.declined
        message = exc.message[:2000]
        if latest is not None and latest.declined and latest.declined_message == message:
            return latest, False
        fields = {
            "items": [],
            "raw": {"error": {"code": exc.code, "message": message, "requestId": exc.request_id}},
            "declined": True,
            "declined_message": message,
        }
    else:
        fields = answer.fields or {"items": [], "raw": {}}
        if latest is not None and latest.items == fields["items"] and not latest.declined:
            return latest, False
    snapshot = _snapshot_create(project, metric=metric, window=window, filters=filters, **fields)
    # The figures of the window's creatives follow their boards (creatives.figures).
    creative_figures_from_boards(project=project, window=window)
    return snapshot, True


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
    max_wait: float | None = None,
) -> tuple[LeaderboardSnapshot, bool]:
    """Fetch top-performers live and store it (``leaderboard_fetch``, ``leaderboard_store``)."""
    filters = leaderboard_filters(
        source_types=source_types,
        platforms=platforms,
        limit=limit,
        include_ineligible=include_ineligible,
    )
    answer = leaderboard_fetch(
        client=client or get_client(),
        project_id=project.layers_id,
        metric=metric,
        window=window,
        filters=filters,
        max_wait=max_wait,
    )
    return leaderboard_store(
        project=project, metric=metric, window=window, filters=filters, answer=answer
    )


def _latest_snapshot(
    project: Project, *, metric: str, window: str, key: str
) -> LeaderboardSnapshot | None:
    return (
        LeaderboardSnapshot.objects.filter(
            project=project, metric=metric, window=window, filters_key=key
        )
        .order_by("-fetched_at", "-id")
        .first()
    )


def _snapshot_create(
    project: Project, *, metric: str, window: str, filters: dict[str, Any], **fields: Any
) -> LeaderboardSnapshot:
    return LeaderboardSnapshot.objects.create(
        project=project,
        metric=metric,
        window=window,
        filters=filters,
        filters_key=filters_key(filters),
        fetched_at=timezone.now(),
        **fields,
    )
