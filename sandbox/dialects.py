"""Dialects: two readings of the Partner API docs, served by the same sandbox.

The vendor pages (``shared/seeds/``) show some shapes exactly and leave many things open
(``shared/layers-api/REFERENCE.md`` sections 9 and 10). A sandbox written together with its
client tends to share the client's guesses, so it hides bugs. A dialect names every such
choice as a property; the HTTP layer and the handlers branch on these properties, never on
the dialect's name.

* ``seed`` (default): where a seed shows a shape, exactly that shape; elsewhere the
  choices listed in sandbox/README.md.
* ``variant``: at every point where the docs are silent or disagree, the *other* reasonable
  answer (see the README table "Where the docs are silent or disagree").

Also here: id normalisation (paths accept every id form of an object, in both dialects)
and the timestamp rewriting used by ``variant``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

DIALECTS = ("seed", "variant")

BUCKET_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def normalise_id(raw: str, prefix: str) -> str:
    """One id form per object: ``prefix`` (any case) stripped, then lower-cased.

    ``normalise_id("PRJ_AB-1", "prj_") == normalise_id("ab-1", "prj_") == "ab-1"``. O(1).
    """
    if raw[: len(prefix)].lower() == prefix:
        raw = raw[len(prefix) :]
    return raw.lower()


def bare(internal_id: str) -> str:
    """``cnt_<uuid>`` / ``prj_<uuid>`` -> ``<uuid>`` (internal ids always carry a 4-char prefix)."""
    return internal_id[4:]


@dataclass(frozen=True)
class IdForm:
    """How an id is written in one place of one answer: ``prefix + uuid`` (upper-cased or not)."""

    prefix: str = ""
    upper: bool = False

    def render(self, uuid: str) -> str:
        return self.prefix + (uuid.upper() if self.upper else uuid)


BARE = IdForm()


def http_date(ts: float) -> str:
    """IMF-fixdate of ``ts`` rounded UP to the next whole second (never earlier than ``ts``)."""
    return format_datetime(datetime.fromtimestamp(math.ceil(ts), UTC), usegmt=True)


# Fields whose values are timestamps, in every object the API returns. ``metadata`` is the
# caller's own JSON ("returned unchanged"): never rewritten.
TIMESTAMP_KEYS = frozenset(
    {
        "createdAt",
        "updatedAt",
        "completedAt",
        "failedAt",
        "scoredAt",
        "overrideSetAt",
        "startedAt",
        "occurredAt",
        "archivedAt",
        "approvedAt",
        "rejectedAt",
    }
)
OPAQUE_KEYS = frozenset({"metadata"})


def _offset_stamp(value: str) -> str:
    # "2026-11-01T12:00:00Z" -> "2026-11-01T12:00:00.000000+00:00"
    if len(value) == 20 and value[-1] == "Z":
        return value[:-1] + ".000000+00:00"
    return value


def restamp(obj):
    """A copy of ``obj`` with every timestamp written with a fraction and ``+00:00``."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in TIMESTAMP_KEYS and isinstance(v, str):
                out[k] = _offset_stamp(v)
            elif k in OPAQUE_KEYS or not isinstance(v, dict | list):
                out[k] = v
            else:
                out[k] = restamp(v)
        return out
    if isinstance(obj, list):
        return [restamp(x) for x in obj]
    return obj


@dataclass(frozen=True)
class Dialect:
    """Every choice that differs between dialects, by name."""

    name: str
    # --- transport
    bucket_headers: bool  # X-RateLimit-Limit/Remaining/Reset (the class header is always sent)
    retry_after_http_date: bool  # Retry-After as an HTTP date, else delta-seconds
    replay_marker: bool  # Idempotent-Replayed: true on an idempotent replay
    # --- representation
    offset_timestamps: bool  # "…T12:00:00.000000+00:00" instead of "…T12:00:00Z"
    extra_fields: bool  # undocumented "region" and "_links" on objects
    unknown_enums: bool  # a few rows carry enum values no page lists
    end_cursor_absent: bool  # last page: nextCursor absent (else null)
    max_page_items: int | None  # items per page are capped below the requested limit
    project_answer_bare_id: bool  # GET/POST/PATCH/DELETE project answers: bare uuid id (C13)
    external_id_in_metadata: bool  # customerExternalId only at metadata.partner (seed 003)
    reported_tier: str | None  # /whoami rateLimitTier (None: the server's configured tier)
    # --- id forms (internally: projects prj_<uuid>, containers cnt_<uuid>, creatives <uuid>)
    ads_list_id: IdForm  # ads-content list adsContentId
    ads_list_source_id: IdForm  # ads-content list (and PATCH answer) sourceId of a container
    ads_patch_id: IdForm  # the adsContentId in the PATCH answer
    top_ads_id: IdForm  # top-performers adsContentId
    top_source_id: IdForm  # top-performers sourceId of a container
    # --- validation
    patch_body_status: int  # PATCH project / PATCH ads-content body errors
    paid_metric_needs_paid_source: bool  # paid metric 422 unless sourceType ⊆ {container, manual}
    reference_only_params_refused: bool  # params only REFERENCE names -> 422
    ads_content_max_limit: int
    # --- content review (REFERENCE 8.5: approve / reject)
    review_body_status: int  # approve/reject body errors (8.5 says 422; C12: 400 elsewhere)
    review_length_utf16: bool  # note/reason length in UTF-16 units (else code points)
    review_answer_bare_id: bool  # the answer's id: bare uuid (else cnt_<uuid>)
    reviewer_is_key_id: bool  # approvedBy/rejectedBy: key_<uuid> (else api_key_<uuid>)
    promotion_always: bool  # pendingSchedulePromotion on every approve (else only if posts)
    # --- webhook deliveries (sandbox/webhooks.py; the payload's shape is not documented)
    webhook_envelope_keys: tuple[str, str, str]  # the event's (id, type, time) keys
    webhook_nested_ids: bool  # data.contentId + data.project.id, bare (else data.id, projectId)

    # ------------------------------------------------------------------ helpers
    def page(self, items: list, next_cursor: str | None) -> dict:
        if next_cursor is None and self.end_cursor_absent:
            return {"items": items}
        return {"items": items, "nextCursor": next_cursor}

    def page_items(self, limit: int) -> int:
        """How many items a page holds when ``limit`` is asked for."""
        if self.max_page_items is None:
            return limit
        return min(limit, self.max_page_items)

    def retry_after(self, seconds: int, now: float | None = None) -> str:
        if not self.retry_after_http_date:
            return str(seconds)
        return http_date((time.time() if now is None else now) + seconds)

    def rate_headers(self, headers: dict[str, str]) -> dict[str, str]:
        if self.bucket_headers:
            return headers
        return {k: v for k, v in headers.items() if k not in BUCKET_HEADERS}

    def extras(self, links: dict[str, str]) -> dict:
        """Undocumented fields added to an object (``{}`` unless ``extra_fields``):
        ``region`` and HAL-style ``_links`` (``{"self": "/v1/…"}`` -> ``{"self": {"href": …}}``).
        """
        if not self.extra_fields:
            return {}
        return {"region": "eu-west", "_links": {k: {"href": v} for k, v in links.items()}}


SEED = Dialect(
    name="seed",
    bucket_headers=True,
    retry_after_http_date=False,
    replay_marker=True,
    offset_timestamps=False,
    extra_fields=False,
    unknown_enums=False,
    end_cursor_absent=False,
    max_page_items=None,
    project_answer_bare_id=False,
    external_id_in_metadata=False,
    reported_tier=None,
    ads_list_id=BARE,  # seed 001: raw UUID
    ads_list_source_id=BARE,  # seed 001: "sourceId": "01HXC8A2…", no prefix
    ads_patch_id=BARE,
    top_ads_id=IdForm("adc_"),  # seed 000: "adc_6f5d4c3b…"
    top_source_id=IdForm("cnt_"),  # seed 000: "cnt_7d18b9a1…"
    patch_body_status=400,  # seed 001 and REFERENCE (PATCH project)
    paid_metric_needs_paid_source=False,
    reference_only_params_refused=False,
    ads_content_max_limit=200,
    review_body_status=422,  # REFERENCE 8.5: "422 VALIDATION for bad reason"
    review_length_utf16=False,
    review_answer_bare_id=False,
    reviewer_is_key_id=False,  # 8.5: approvedBy "e.g. api_key_…"
    promotion_always=False,  # 8.5: pendingSchedulePromotion?
    webhook_envelope_keys=("id", "type", "createdAt"),
    webhook_nested_ids=False,
)

VARIANT = Dialect(
    name="variant",
    bucket_headers=False,
    retry_after_http_date=True,
    replay_marker=False,
    offset_timestamps=True,
    extra_fields=True,
    unknown_enums=True,
    end_cursor_absent=True,
    max_page_items=37,
    project_answer_bare_id=True,
    external_id_in_metadata=True,
    reported_tier="scale",
    ads_list_id=IdForm("adc_", upper=True),
    ads_list_source_id=IdForm("cnt_"),
    ads_patch_id=BARE,
    top_ads_id=BARE,
    top_source_id=IdForm("", upper=True),
    patch_body_status=422,
    paid_metric_needs_paid_source=True,
    reference_only_params_refused=True,
    ads_content_max_limit=100,
    review_body_status=400,
    review_length_utf16=True,
    review_answer_bare_id=True,
    reviewer_is_key_id=True,
    promotion_always=True,
    webhook_envelope_keys=("eventId", "event", "occurredAt"),
    webhook_nested_ids=True,
)

_BY_NAME = {d.name: d for d in (SEED, VARIANT)}


def get_dialect(name: str | Dialect) -> Dialect:
    """The dialect called ``name``; ``ValueError`` for an unknown name."""
    if isinstance(name, Dialect):
        return name
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown dialect {name!r}; one of {', '.join(DIALECTS)}") from None
