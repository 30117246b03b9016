"""Bulk overrides: include, exclude or clear many scored creatives at once, and Undo.

A person ticks rows of a decision table (one project's, or the agency's across projects) and
picks an action with one shared note. ``bulk_override_create`` checks everything it can
before anything is sent (the override permission, every row in a project the person may see
and not archived, the note) and stores a ``BulkOverride`` with one ``BulkOverrideItem`` per
row: what the row had, what is sent, and an Idempotency-Key made once, here. Then it queues
``creatives.tasks.bulk_override_task``, which calls ``bulk_override_run`` on a worker.

The run sends the rows one by one, in order, through ``creative_override_set`` (the single
override's service: audit first, customer scoping, the row stored from the API's answer), one
PATCH per row with the row's own key, paced like the sync (writes are 60 a minute at the
standard tier; people's own clicks keep their headroom). Each row's outcome is stored as it
finishes, so the page shows progress; a row that fails keeps its error code and the API's
message, and the others go on. A run that stops half way (the worker died, an unexpected
error) leaves the rest pending: ``bulk_override_resume`` queues it again and it sends only what
is left, with the same keys, so a row the API already applied is replayed, not applied twice.

Undo: for ``UNDO_WINDOW`` after a bulk action finished, ``bulk_override_undo`` makes a new bulk
action of kind undo that puts back each changed row's previous override and note (as the API's
answer recorded them in the audit), by the same machinery. A row changed by anyone since is left
as it is. ``creative_override_undo`` does the same for one row changed by a single override.

Callers branch on the codes (``BulkRefused.code``, ``BulkOverrideItem.error_code``), never on
the messages.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from creatives.models import AdsContent, BulkOverride, BulkOverrideItem, OverrideAudit
from creatives.services import (
    NothingToClear,
    OverrideResult,
    ProjectArchived,
    creative_override_set,
    override_validate,
)
from creatives.vocabulary import BULK_ERROR_WORDS, BULK_REFUSALS
from layersadmin.layers import LayersClient, LayersError, get_client
from projects.selectors import projects_visible_to

logger = logging.getLogger(__name__)

CHANGE_OVERRIDE = "creatives.change_override"
# How long after a bulk action (or a single override) finished its Undo is offered.
UNDO_WINDOW = timedelta(minutes=30)
# At most this many rows per bulk action: 500 writes are more than 8 minutes at the standard
# tier's 60 a minute. A page shows 50; "Load more" pages add to a selection.
BULK_MAX_ROWS = 500
# A run that has not finished a row for this long is taken for dead (its worker was killed):
# the page offers to resume it, and a resumed run may take it over.
STALLED_AFTER = timedelta(minutes=5)

ACTIONS = {"include": "include", "exclude": "exclude", "clear": ""}  # action -> override sent
Status = BulkOverride.Status
ItemStatus = BulkOverrideItem.Status


class BulkRefused(Exception):
    """Refused before anything was stored or sent; ``code`` is one of
    ``vocabulary.BULK_REFUSALS`` (whose words are ``message``)."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.message = BULK_REFUSALS[code].format(**params)
        super().__init__(self.message)


# --- creating -----------------------------------------------------------------------------------


def _may_override(user) -> None:
    if not getattr(user, "is_authenticated", False) or not user.has_perm(CHANGE_OVERRIDE):
        raise BulkRefused("NO_PERMISSION")


def bulk_ids_parse(values: list[str]) -> list[int]:
    """The selected rows' ids (local primary keys) as given, in order, once each; anything
    that is not one is ignored (a hand-made request)."""
    seen: dict[int, None] = {}
    for value in values[: BULK_MAX_ROWS * 2]:
        if isinstance(value, str) and value.isdigit() and len(value) <= 12:
            seen.setdefault(int(value), None)
    return list(seen)


def bulk_override_create(
    *, user, action: str, note: Any, ads_content_ids: list[int], enqueue: bool = True
) -> BulkOverride:
    """Store a bulk action over these creatives and queue its run. Raises BulkRefused (no
    permission, nothing selected, too many, a row not visible to ``user`` or gone, a row of an
    archived project) or ValidationError (the note): then nothing is stored or sent."""
    _may_override(user)
    if action not in ACTIONS:
        raise BulkRefused("BAD_ACTION")
    override, note = override_validate(override=ACTIONS[action], note=note)
    if not ads_content_ids:
        raise BulkRefused("NOTHING_SELECTED")
    if len(ads_content_ids) > BULK_MAX_ROWS:
        raise BulkRefused("TOO_MANY", limit=BULK_MAX_ROWS)
    rows = {
        row.pk: row
        for row in AdsContent.objects.filter(
            pk__in=ads_content_ids, is_gone=False, project__in=projects_visible_to(user)
        ).select_related("project")
    }
    if len(rows) != len(set(ads_content_ids)):
        raise BulkRefused("NOT_VISIBLE")  # another manager's creative, or gone: say no more
    if any(row.project.is_archived for row in rows.values()):
        raise BulkRefused("ARCHIVED")
    with transaction.atomic():
        bulk = BulkOverride.objects.create(user=user, action=action, note=note)
        bulk.projects.set({row.project_id for row in rows.values()})
        BulkOverrideItem.objects.bulk_create(
            [
                BulkOverrideItem(
                    bulk=bulk,
                    position=position,
                    ads_content=rows[pk],
                    before_override=rows[pk].override,
                    before_note=rows[pk].override_note,
                    after_override=override,
                    after_note=note,
                    idempotency_key=str(uuid.uuid4()),
                )
                for position, pk in enumerate(ads_content_ids)
            ]
        )
    if enqueue:
        bulk_override_enqueue(bulk=bulk)
    return bulk


def bulk_override_enqueue(*, bulk: BulkOverride) -> None:
    """Queue the run (``creatives.tasks``). The bulk action is committed first, so a worker on
    any backend finds it; a queue that refuses leaves it pending, and the page offers Resume
    once it looks stalled. The immediate backend runs it here and now."""
    from creatives.tasks import bulk_override_task  # the task calls back into this module

    try:
        result = bulk_override_task.enqueue(bulk_id=bulk.pk)
    except Exception:  # the queue is down: the bulk action waits, resumable
        logger.exception("could not queue bulk override %s", bulk.pk)
        return
    BulkOverride.objects.filter(pk=bulk.pk).update(task_id=str(result.id)[:64])
    bulk.refresh_from_db()


def bulk_override_resume(*, bulk: BulkOverride, user) -> BulkOverride:
    """Queue a stopped or stalled bulk action again: only its pending rows are sent, each with
    the key it was given when it was created."""
    _may_override(user)
    if not bulk_progress(bulk).resumable:
        raise BulkRefused("NOT_RESUMABLE")
    bulk_override_enqueue(bulk=bulk)
    return bulk


# --- running ------------------------------------------------------------------------------------


def _claim(bulk_id: int, now: datetime) -> bool:
    """Mark the bulk action running, unless another run is at it (one that finished a row
    within ``STALLED_AFTER``) or it is done. One conditional UPDATE: two workers, one run."""
    claimable = Q(status__in=[Status.PENDING, Status.STOPPED]) | Q(
        status=Status.RUNNING, updated_at__lt=now - STALLED_AFTER
    )
    claimed = (
        BulkOverride.objects.filter(pk=bulk_id)
        .filter(claimable)
        .update(status=Status.RUNNING, updated_at=now)
    )
    if claimed:
        BulkOverride.objects.filter(pk=bulk_id, started_at__isnull=True).update(started_at=now)
    return bool(claimed)


def bulk_override_run(*, bulk_id: int, client: LayersClient | None = None) -> dict[str, Any]:
    """Send the pending rows of a bulk action, one PATCH each, and record each outcome; then
    mark it done and open its Undo window. Returns a small JSON summary (the task's)."""
    if not _claim(bulk_id, timezone.now()):
        bulk = BulkOverride.objects.filter(pk=bulk_id).first()
        return _summary(bulk, bulk_id) | {"ran": False}
    bulk = BulkOverride.objects.select_related("user").get(pk=bulk_id)
    own_client = client is None
    client = client or get_client()
    try:
        items = list(bulk.items.filter(status=ItemStatus.PENDING).order_by("position"))
        for item in items:
            _item_send(bulk, item, client)
            BulkOverride.objects.filter(pk=bulk.pk).update(updated_at=timezone.now())
    except BaseException:
        # Not a row's refusal (those are recorded): the worker is going down or the database
        # failed. The rows not sent stay pending, with their keys, for a resume.
        BulkOverride.objects.filter(pk=bulk.pk, status=Status.RUNNING).update(
            status=Status.STOPPED, updated_at=timezone.now()
        )
        raise
    finally:
        if own_client:
            client.close()
    now = timezone.now()
    changed = bulk.items.filter(status=ItemStatus.DONE).exists()
    undo_until = now + UNDO_WINDOW if bulk.kind == BulkOverride.Kind.OVERRIDE and changed else None
    BulkOverride.objects.filter(pk=bulk.pk).update(
        status=Status.DONE, finished_at=now, updated_at=now, undo_until=undo_until
    )
    bulk.refresh_from_db()
    return _summary(bulk, bulk_id) | {"ran": True}


def _item_send(bulk: BulkOverride, item: BulkOverrideItem, client: LayersClient) -> None:
    row = AdsContent.objects.select_related("project").get(pk=item.ads_content_id)
    now = (row.override, row.override_note)
    if bulk.kind == BulkOverride.Kind.UNDO and now != (item.before_override, item.before_note):
        return _item_finish(item, ItemStatus.SKIPPED, code="CHANGED_SINCE")
    if now == (item.after_override, item.after_note):
        # Already so (a clear of nothing included): nothing to send, nothing to audit.
        return _item_finish(item, ItemStatus.SKIPPED, code="UNCHANGED")
    try:
        result = creative_override_set(
            ads_content=row,
            user=bulk.user,
            override=item.after_override,
            note=item.after_note,
            form_token=item.idempotency_key,
            idempotency_key=item.idempotency_key,
            source="bulk",
            client=client,
            background=True,
        )
    except NothingToClear as exc:
        return _item_finish(item, ItemStatus.SKIPPED, code=exc.code)
    except ProjectArchived as exc:  # stored as archived, or named so by the API (409)
        return _item_finish(
            item, ItemStatus.FAILED, code=ProjectArchived.code, request_id=exc.request_id
        )
    except ValidationError as exc:
        message = " ".join(m for ms in exc.message_dict.values() for m in ms)
        return _item_finish(item, ItemStatus.FAILED, code="VALIDATION", message=message)
    except LayersError as exc:
        return _item_finish(
            item, ItemStatus.FAILED, code=exc.code, message=exc.message, request_id=exc.request_id
        )
    _item_done(item, result)


def _item_done(item: BulkOverrideItem, result: OverrideResult) -> None:
    # What the row had just before this PATCH, as the audit recorded it under the row's lock:
    # what Undo puts back.
    item.before_override = result.audit.before_override
    item.before_note = result.audit.before_note
    item.status = ItemStatus.DONE
    item.request_id = result.audit.request_id[:64]
    item.finished_at = timezone.now()
    item.save(
        update_fields=["before_override", "before_note", "status", "request_id", "finished_at"]
    )


def _item_finish(
    item: BulkOverrideItem, status: str, *, code: str, message: str = "", request_id: str = ""
) -> None:
    item.status = status
    item.error_code = code[:64]
    item.error_message = message[:2000]
    item.request_id = request_id[:64]
    item.finished_at = timezone.now()
    item.save(update_fields=["status", "error_code", "error_message", "request_id", "finished_at"])


def _summary(bulk: BulkOverride | None, bulk_id: int) -> dict[str, Any]:
    if bulk is None:
        return {"bulk_id": bulk_id, "status": "gone"}
    counts = Counter(bulk.items.values_list("status", flat=True))
    return {"bulk_id": bulk.pk, "status": bulk.status, **{s: counts[s] for s in ItemStatus.values}}


# --- undo ---------------------------------------------------------------------------------------


def bulk_override_undo(*, bulk: BulkOverride, user, enqueue: bool = True) -> BulkOverride:
    """Put back what a finished bulk action changed, within its Undo window: a new bulk action
    of kind undo over the rows it changed (each to its previous override and note). Raises
    BulkRefused (no permission, not yours to see, not undoable, too late, undone already)."""
    _may_override(user)
    visible = projects_visible_to(user)
    if bulk.projects.exclude(pk__in=visible.values("pk")).exists():
        raise BulkRefused("NOT_VISIBLE")
    if bulk.kind != BulkOverride.Kind.OVERRIDE or bulk.status != Status.DONE:
        raise BulkRefused("NOT_UNDOABLE")
    if bulk.undo_until is None or timezone.now() > bulk.undo_until:
        raise BulkRefused("UNDO_EXPIRED")
    if bulk.projects.filter(status="archived").exists():
        raise BulkRefused("ARCHIVED")
    changed = list(bulk.items.filter(status=ItemStatus.DONE).order_by("position"))
    try:
        with transaction.atomic():
            undo = BulkOverride.objects.create(
                user=user, kind=BulkOverride.Kind.UNDO, action="undo", undo_of=bulk
            )
            undo.projects.set(bulk.projects.all())
            BulkOverrideItem.objects.bulk_create(
                [
                    BulkOverrideItem(
                        bulk=undo,
                        position=position,
                        ads_content_id=item.ads_content_id,
                        # What the row should still have; a row changed since is left alone.
                        before_override=item.after_override,
                        before_note=item.after_note,
                        after_override=item.before_override,
                        after_note=item.before_note,
                        idempotency_key=str(uuid.uuid4()),
                    )
                    for position, item in enumerate(changed)
                ]
            )
    except IntegrityError:  # two clicks at once: the other made the undo
        raise BulkRefused("UNDONE_ALREADY") from None
    if enqueue:
        bulk_override_enqueue(bulk=undo)
    return undo


def override_undo_until(audit: OverrideAudit) -> datetime | None:
    """Until when a single override (its audit entry) may be undone: ``UNDO_WINDOW`` after it
    succeeded. None when it did not."""
    if audit.outcome != OverrideAudit.Outcome.SUCCEEDED or audit.completed_at is None:
        return None
    return audit.completed_at + UNDO_WINDOW


def creative_override_undo(*, audit: OverrideAudit, user) -> OverrideResult:
    """Put one creative back to what it had before a single override (its audit entry), within
    the Undo window, through the same service (one form token per undo: a double click sends
    it once). Raises BulkRefused (too late, changed since) or what the service raises."""
    _may_override(user)
    until = override_undo_until(audit)
    if until is None or timezone.now() > until:
        raise BulkRefused("UNDO_EXPIRED")
    row = AdsContent.objects.select_related("project").get(pk=audit.ads_content_id)
    if (row.override, row.override_note) != (audit.after_override, audit.note):
        raise BulkRefused("CHANGED_SINCE")
    return creative_override_set(
        ads_content=row,
        user=user,
        override=audit.before_override,
        note=audit.before_note,
        form_token=f"undo-{audit.pk}",
        source="dashboard",
    )


# --- what pages show ----------------------------------------------------------------------------


def bulk_for_user(user, bulk_id: int) -> BulkOverride | None:
    """The bulk action if ``user`` made it or may see every project it touched; else None (a
    page answers 404, as for a project one may not see)."""
    bulk = BulkOverride.objects.select_related("user", "undo_of").filter(pk=bulk_id).first()
    if bulk is None:
        return None
    if bulk.user_id == getattr(user, "pk", None):
        return bulk
    visible = projects_visible_to(user)
    if bulk.projects.exclude(pk__in=visible.values("pk")).exists():
        return None
    return bulk


@dataclass
class BulkProgress:
    """A bulk action as its status fragment shows it."""

    bulk: BulkOverride
    counts: dict[str, int]
    items: list[BulkOverrideItem] = field(default_factory=list)
    stalled: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished(self) -> int:
        return self.total - self.counts.get(ItemStatus.PENDING, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.finished / self.total) if self.total else 100

    @property
    def done(self) -> bool:
        return self.bulk.status == Status.DONE

    @property
    def polling(self) -> bool:
        """The page asks again while rows are being sent (and not once it looks stalled)."""
        return not self.done and self.bulk.status != Status.STOPPED and not self.stalled

    @property
    def resumable(self) -> bool:
        return not self.done and (self.bulk.status == Status.STOPPED or self.stalled)

    @property
    def failed(self) -> list[BulkOverrideItem]:
        return [item for item in self.items if item.status == ItemStatus.FAILED]

    @property
    def undo_open(self) -> bool:
        bulk = self.bulk
        return (
            self.done
            and bulk.kind == BulkOverride.Kind.OVERRIDE
            and bulk.undo_until is not None
            and timezone.now() <= bulk.undo_until
            and not hasattr(bulk, "undo")
        )


def bulk_progress(bulk: BulkOverride) -> BulkProgress:
    """Counts per row status, the rows with their creative and project (one query), whether a
    run looks dead, and what its undo became (if any)."""
    items = list(
        bulk.items.select_related("ads_content__project")
        .order_by("position")
        # Only what the fragment shows of a creative: not its payload.
        .defer("ads_content__raw", "ads_content__organic_performance")
    )
    counts = Counter(item.status for item in items)
    stalled = bulk.status in (Status.PENDING, Status.RUNNING) and (
        timezone.now() - bulk.updated_at > STALLED_AFTER
    )
    for item in items:
        item.words = item_words(item)
    return BulkProgress(bulk=bulk, counts=dict(counts), items=items, stalled=stalled)


def item_words(item: BulkOverrideItem) -> str:
    """Why a row failed or was skipped, in plain words chosen by its code (the API's message
    follows where there is one)."""
    if item.status in (ItemStatus.PENDING, ItemStatus.DONE):
        return ""
    words = BULK_ERROR_WORDS.get(item.error_code, BULK_ERROR_WORDS["OTHER"])
    return words


@dataclass(frozen=True)
class UndoOffer:
    """The Undo a single override's success message offers: its audit entry, until when."""

    audit_id: int
    until: datetime


def override_undo_offer(ads_content: AdsContent, user) -> UndoOffer | None:
    """The Undo of ``user``'s latest successful change to this creative, while it is open
    (none for a creative that is not stored: the pass-through bench reads the API only)."""
    if ads_content.pk is None:
        return None
    audit = (
        OverrideAudit.objects.filter(
            ads_content=ads_content, user=user, outcome=OverrideAudit.Outcome.SUCCEEDED
        )
        .order_by("-completed_at", "-id")
        .first()
    )
    until = override_undo_until(audit) if audit is not None else None
    if until is None or timezone.now() > until:
        return None
    return UndoOffer(audit_id=audit.pk, until=until)
