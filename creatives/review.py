"""Content review: approve or reject a pending content container through the Layers API
(REFERENCE 8.5, ``POST /v1/content/:id/approve`` and ``/reject``), with a local audit.

Like ``creatives.services.creative_override_set``, every outcome is named:

1. The note or reason is checked here first: a note is optional, a reason required, each at
   most ``REVIEW_TEXT_MAX_LENGTH`` (1,024) characters counted the strictest way
   (``creatives.notes.note_length``: UTF-16 units after trimming), since the docs do not say
   what a character is (sandbox/README.md) and a text the API might refuse is never sent.
2. The audit entry (``ContentReviewAudit``) is written first (outcome pending), so an
   interrupted request still leaves a trace.
3. The Idempotency-Key is a fresh v4 UUID per submitted form (``form_token``) and body
   (action, text); the same form sent again (a double click, a retry after "unknown") reuses
   it, so Layers applies the decision at most once. Approval cannot be undone: a replay of an
   approve that succeeded is answered from the audit, without a call.
4. The project's customer is confirmed upstream (seed 003; ``project_assert_customer``,
   cached for a minute), then the POST is sent within ``LAYERS_INTERACTIVE_MAX_WAIT``.
5. The container row is stored from the API's answer: its ``approvalStatus`` (and the
   approval fields, kept in ``raw``). An answer without ``approvalStatus`` is completed with
   ``GET /v1/content/:id``. A 409 CONFLICT names the container's real state in
   ``details.approvalStatus``: that is stored too, so the page stops offering the buttons.

Calls per decision: one POST; plus one GET of the project when its customer was not
confirmed in the last minute; plus one GET of the container only if the answer lacks
``approvalStatus``.

Callers branch on error codes (``review_problem`` turns each into plain words), never on
the API's message text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from creatives.mapping import container_fields_from_api
from creatives.models import ContentContainer, ContentReviewAudit
from creatives.notes import note_length, note_normalise
from layersadmin.layers import (
    LayersAPIError,
    LayersClient,
    LayersError,
    LayersOutcomeUnknown,
    LayersUnavailable,
    get_client,
)
from layersadmin.layers import payload as p
from layersadmin.layers.ids import same_id
from projects.services.scoping import project_assert_customer

REVIEW_TEXT_MAX_LENGTH = 1024  # REFERENCE 8.5: note <= 1024, reason 1-1024
APPROVAL_STATUSES = ("not_required", "pending", "approved", "rejected")  # REFERENCE 7.3
# The answer's approval fields (8.5), kept in the container's raw payload.
ANSWER_FIELDS = (
    "approvalStatus",
    "approvedAt",
    "approvedBy",
    "rejectedAt",
    "rejectedBy",
    "reason",
    "pendingSchedulePromotion",
)
IN_FLIGHT_WINDOW = timedelta(seconds=60)
Action = ContentReviewAudit.Action
Outcome = ContentReviewAudit.Outcome


class ReviewInProgress(LayersError):
    """Another decision on this container is still waiting for the API's answer."""

    code = "REVIEW_IN_PROGRESS"


@dataclass
class ReviewResult:
    container: ContentContainer
    audit: ContentReviewAudit
    replayed: bool = False

    @property
    def promotion(self) -> dict[str, Any] | None:
        """pendingSchedulePromotion as answered: ``{status, scheduledPostIds}`` or None."""
        return self.audit.promotion if isinstance(self.audit.promotion, dict) else None


def review_text_validate(*, action: str, text: Any) -> str:
    """The note (approve) or reason (reject), normalised; ValidationError with clear words."""
    field = "reason" if action == Action.REJECT else "note"
    if action not in Action.values:
        raise ValidationError({"action": "Choose approve or reject."})
    text = "" if text is None else text
    if not isinstance(text, str):
        raise ValidationError({field: f"The {field} must be text."})
    text = note_normalise(text)
    length = note_length(text)
    if action == Action.REJECT and not text:
        raise ValidationError({field: "Say why it is rejected: a reason is required."})
    if length > REVIEW_TEXT_MAX_LENGTH:
        raise ValidationError(
            {
                field: f"The {field} is {length:,} characters long (emoji count as two); "
                f"Layers takes at most {REVIEW_TEXT_MAX_LENGTH:,}."
            }
        )
    return text


def content_approve(
    *,
    container: ContentContainer,
    user,
    note: Any = "",
    form_token: str = "",
    source: str = "dashboard",
    client: LayersClient | None = None,
) -> ReviewResult:
    """Approve a pending container (cannot be undone; may publish scheduled posts waiting for
    it). Raises as ``content_review`` says."""
    return content_review(
        container=container,
        user=user,
        action=Action.APPROVE,
        text=note,
        form_token=form_token,
        source=source,
        client=client,
    )


def content_reject(
    *,
    container: ContentContainer,
    user,
    reason: Any,
    form_token: str = "",
    source: str = "dashboard",
    client: LayersClient | None = None,
) -> ReviewResult:
    """Reject a pending container with a reason (required). Raises as ``content_review`` says."""
    return content_review(
        container=container,
        user=user,
        action=Action.REJECT,
        text=reason,
        form_token=form_token,
        source=source,
        client=client,
    )


def content_review(
    *,
    container: ContentContainer,
    user,
    action: str,
    text: Any = "",
    form_token: str = "",
    source: str = "dashboard",
    client: LayersClient | None = None,
) -> ReviewResult:
    """Approve or reject ``container`` through the API, audited (steps in the module docstring).

    Raises ValidationError (bad note or reason: nothing sent), ReviewInProgress,
    CustomerMismatch, LayersBusy (nothing sent), LayersAPIError (refused: CONFLICT,
    FORBIDDEN_SCOPE, NOT_FOUND, VALIDATION...; the audit says failed) or
    LayersOutcomeUnknown / LayersUnavailable (no answer; the audit says unknown).
    """
    text = review_text_validate(action=action, text=text)
    project = container.project
    form_token = (form_token or "")[:64]

    with transaction.atomic():
        row = ContentContainer.objects.select_for_update().get(pk=container.pk)
        previous = _same_operation(row, form_token=form_token, action=action, text=text)
        if previous is not None and previous.outcome == Outcome.SUCCEEDED:
            return ReviewResult(container=row, audit=previous, replayed=True)
        idempotency_key = previous.idempotency_key if previous else str(uuid.uuid4())
        in_flight = ContentReviewAudit.objects.filter(
            container=row,
            outcome=Outcome.PENDING,
            created_at__gte=timezone.now() - IN_FLIGHT_WINDOW,
        ).exclude(idempotency_key=idempotency_key)
        if in_flight.exists():
            raise ReviewInProgress(
                "Another decision on this content is still being sent; wait for it to finish."
            )
        audit = ContentReviewAudit.objects.create(
            user=user,
            project=project,
            container=row,
            source=source,
            action=action,
            text=text,
            before_status=row.approval_status,
            idempotency_key=idempotency_key,
            form_token=form_token,
        )

    client = client or get_client()
    max_wait = settings.LAYERS_INTERACTIVE_MAX_WAIT
    try:
        project_assert_customer(project=project, client=client, max_wait=max_wait)
        if action == Action.APPROVE:
            data = client.content_approve(
                row.layers_id,
                note=text or None,
                idempotency_key=idempotency_key,
                max_wait=max_wait,
            )
        else:
            data = client.content_reject(
                row.layers_id, reason=text, idempotency_key=idempotency_key, max_wait=max_wait
            )
    except (LayersOutcomeUnknown, LayersUnavailable) as exc:
        _audit_finish(audit, Outcome.UNKNOWN, exc)
        raise
    except LayersAPIError as exc:
        _audit_finish(audit, Outcome.FAILED, exc)
        if exc.code == "CONFLICT":
            _store_conflict(row, exc)
        raise
    except LayersError as exc:
        _audit_finish(audit, Outcome.FAILED, exc)
        raise

    answered = data.get("id")
    if answered is not None and not same_id(str(answered), row.layers_id):
        exc = LayersAPIError(
            "The API answered with a different container than the one reviewed.",
            code="PROTOCOL",
            request_id=data.request_id,
        )
        _audit_finish(audit, Outcome.UNKNOWN, exc)
        raise exc
    status = p.text(data.get("approvalStatus"), 32)
    fresh: dict[str, Any] | None = None
    if not status:
        # The answer does not say where the container stands now: ask (the decision is made).
        try:
            fresh = client.content_get(row.layers_id, max_wait=max_wait)
        except LayersError as exc:
            # Applied (Layers said 200), state unread: the next sync reads it.
            _audit_finish(audit, Outcome.SUCCEEDED, exc, request_id=data.request_id)
            return ReviewResult(container=row, audit=audit)
        status = p.text(fresh.get("approvalStatus"), 32)

    now = timezone.now()
    with transaction.atomic():
        row = ContentContainer.objects.select_for_update().get(pk=row.pk)
        if fresh is not None:
            fields = container_fields_from_api(fresh)
            for name, value in fields.items():
                if name not in ("layers_id", "key"):
                    setattr(row, name, value)
        else:
            raw = dict(row.raw) if isinstance(row.raw, dict) else {}
            raw.update(p.clean({k: data[k] for k in ANSWER_FIELDS if k in data}))
            row.raw = raw
            row.approval_status = status
        row.synced_at = now
        row.save()
        promotion = data.get("pendingSchedulePromotion")
        audit.outcome = Outcome.SUCCEEDED
        audit.after_status = status
        audit.request_id = data.request_id[:64]
        audit.response_by = p.text(data.get("approvedBy") or data.get("rejectedBy"), 255)
        audit.promotion = p.clean(promotion) if isinstance(promotion, dict) else None
        audit.completed_at = now
        audit.save(
            update_fields=[
                "outcome",
                "after_status",
                "request_id",
                "response_by",
                "promotion",
                "completed_at",
            ]
        )
    return ReviewResult(container=row, audit=audit)


def _same_operation(
    row: ContentContainer, *, form_token: str, action: str, text: str
) -> ContentReviewAudit | None:
    """The newest audit entry of this very operation (same form, same body), if any."""
    if not form_token:
        return None
    return (
        ContentReviewAudit.objects.filter(
            container=row, form_token=form_token, action=action, text=text
        )
        .order_by("-created_at", "-id")
        .first()
    )


def _store_conflict(row: ContentContainer, exc: LayersAPIError) -> None:
    """A 409 says where the container really stands (``details.approvalStatus``): store it."""
    status = exc.details.get("approvalStatus") if isinstance(exc.details, dict) else None
    if status not in APPROVAL_STATUSES:
        return
    with transaction.atomic():
        fresh = ContentContainer.objects.select_for_update().get(pk=row.pk)
        if fresh.approval_status != status:
            raw = dict(fresh.raw) if isinstance(fresh.raw, dict) else {}
            raw["approvalStatus"] = status
            fresh.raw, fresh.approval_status = raw, status
            fresh.save(update_fields=["raw", "approval_status"])
        row.approval_status = status


def _audit_finish(
    audit: ContentReviewAudit,
    outcome: str,
    exc: LayersError,
    *,
    request_id: str = "",
) -> None:
    audit.outcome = outcome
    audit.error_code = exc.code[:64]
    audit.error_message = exc.message[:2000]
    audit.request_id = (request_id or exc.request_id)[:64]
    audit.completed_at = timezone.now()
    audit.save(
        update_fields=["outcome", "error_code", "error_message", "request_id", "completed_at"]
    )


# --- words for the person who clicked ------------------------------------------------------------

CONFLICT_WORDS = {
    "approved": "Already approved — approval cannot be undone.",
    "rejected": "Already rejected — nothing was changed.",
    "not_required": "This content does not need approval — nothing was changed.",
    "pending": "Layers did not accept the decision (conflict) — nothing was changed.",
}


def review_problem(exc: LayersError) -> str:
    """Plain words for a failed approve or reject, by error code (never the API's message),
    with the code and request id so support can find it."""
    code = exc.code
    if code == "CONFLICT":
        state = exc.details.get("approvalStatus") if isinstance(exc.details, dict) else None
        words = CONFLICT_WORDS.get(str(state), CONFLICT_WORDS["pending"])
    elif code == "FORBIDDEN_SCOPE":
        words = (
            "This API key lacks the content:approve scope; ask an admin for a key with it. "
            "Nothing was changed."
        )
    elif code == "NOT_FOUND":
        words = "Layers no longer has this content — nothing was changed."
    elif code == "VALIDATION":
        words = "Layers refused the note or reason as written — nothing was changed."
    elif code in ("BUSY", "REVIEW_IN_PROGRESS", "CUSTOMER_MISMATCH", "CUSTOMER_MISSING_UPSTREAM"):
        words = exc.message  # our own words, never the API's
    elif code in ("OUTCOME_UNKNOWN", "UNAVAILABLE"):
        words = (
            "No answer from Layers, so the decision may or may not have been applied; it is "
            "recorded as unknown. Reload in a minute to see where it stands."
        )
    else:
        words = "Layers refused the decision — nothing was changed."
    return f"{words} (code {code}, request {exc.request_id or 'none'})"
