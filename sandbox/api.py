"""/v1 route handlers. Each takes a :class:`Ctx` and returns ``(status, body, headers)``
or raises :class:`ApiError`. The HTTP layer (server.py) does auth, rate limits,
idempotency and faults; these functions only see an authenticated key.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import lru_cache

from . import generate
from .data import CONTAINER_STATUSES, CREATIVE_TYPES, FORMATS, ApiKey, Container, Project, Store
from .dialects import SEED, Dialect, bare, normalise_id
from .metrics import AD_PLATFORMS, ORGANIC_PLATFORMS, WATCH_PLATFORMS
from .util import b64url_decode_json, b64url_encode_json, iso, parse_iso


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: dict | None = None, headers=None
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


@dataclass
class Ctx:
    store: Store
    key: ApiKey
    method: str
    params: dict  # path params
    query: dict[str, list[str]]
    body: bytes
    request_id: str
    tier: str
    dialect: Dialect = SEED
    faults: object = None  # limits.Faults (walk rescores); None outside the HTTP server
    # Webhook events the handler's change calls for: (type, container, fields). The HTTP
    # layer sends them (sandbox/webhooks.py) once the request has succeeded.
    events: list = field(default_factory=list)


# --------------------------------------------------------------------------- helpers
def validation(message: str, path: str | None = None, status: int = 422) -> ApiError:
    details = {"issues": [{"path": [path] if path else [], "message": message}]}
    return ApiError(status, "VALIDATION", message, details)


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, "NOT_FOUND", f"{what} not found.")


def q_values(ctx: Ctx, name: str) -> list[str]:
    """Repeated ``name=a&name=b``, ``name[]=a`` and ``name=a,b`` all give ``[a, b]``."""
    raw = ctx.query.get(name, []) + ctx.query.get(name + "[]", [])
    out = []
    for v in raw:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


def q_one(ctx: Ctx, name: str) -> str | None:
    vals = ctx.query.get(name)
    if not vals:
        return None
    return vals[0]


def q_enum_list(ctx: Ctx, name: str, allowed) -> list[str]:
    vals = q_values(ctx, name)
    for v in vals:
        if v not in allowed:
            raise validation(f"{name} must be one of: {', '.join(allowed)} (got {v!r}).", name)
    return vals


def q_enum(ctx: Ctx, name: str, allowed, default=None):
    v = q_one(ctx, name)
    if v is None or v == "":
        return default
    if v not in allowed:
        raise validation(f"{name} must be one of: {', '.join(allowed)} (got {v!r}).", name)
    return v


def q_int(ctx: Ctx, name: str, default: int, lo: int, hi: int) -> int:
    v = q_one(ctx, name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise validation(f"{name} must be an integer.", name) from None
    if n < lo or n > hi:
        raise validation(f"{name} must be between {lo} and {hi} (got {n}).", name)
    return n


def q_float(ctx: Ctx, name: str, lo: float, hi: float) -> float | None:
    v = q_one(ctx, name)
    if v is None or v == "":
        return None
    try:
        x = float(v)
    except ValueError:
        raise validation(f"{name} must be a number.", name) from None
    if not (lo <= x <= hi):
        raise validation(f"{name} must be between {lo:g} and {hi:g}.", name)
    return x


def q_bool(ctx: Ctx, name: str, default: bool | None) -> bool | None:
    v = q_one(ctx, name)
    if v is None or v == "":
        return default
    low = v.lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    raise validation(f"{name} must be true or false.", name)


def q_time(ctx: Ctx, name: str) -> int | None:
    v = q_one(ctx, name)
    if v is None or v == "":
        return None
    try:
        return parse_iso(v)
    except ValueError:
        raise validation(
            f"{name} must be an ISO-8601 timestamp, e.g. 2026-04-01T00:00:00Z.", name
        ) from None


def json_body(ctx: Ctx, patch: bool) -> object:
    status = ctx.dialect.patch_body_status if patch else 422
    if not ctx.body or not ctx.body.strip():
        raise validation(
            "Invalid patch body." if patch else "Request body is required.", None, status
        )
    try:
        return json.loads(ctx.body)
    except (ValueError, UnicodeDecodeError):
        prefix = "Invalid patch body: " if patch else ""
        raise validation(prefix + "request body is not valid JSON.", None, status) from None


def refuse_reference_only(ctx: Ctx, *names: str) -> None:
    """Dialects that refuse parameters only REFERENCE names (no seed): 422 naming the first."""
    if not ctx.dialect.reference_only_params_refused:
        return
    for name in names:
        if name in ctx.query or name + "[]" in ctx.query:
            raise validation(f"{name} is not a supported parameter of this endpoint.", name)


@lru_cache(maxsize=1)
def iana_zones() -> frozenset[str]:
    zones = set(zoneinfo.available_timezones())
    if not zones:  # no tz database on this machine: a conservative fallback
        from .text import TIMEZONES

        zones = set(TIMEZONES)
    zones.add("UTC")
    return frozenset(zones)


def project_or_404(ctx: Ctx) -> Project:
    p = ctx.store.get_project(ctx.key.org_id, ctx.params["project_id"])
    if p is None:
        raise not_found("Project")
    return p


def page(ctx: Ctx, items: list, next_cursor: str | None) -> dict:
    return ctx.dialect.page(items, next_cursor)


def render_project(ctx: Ctx, p: Project, full: bool) -> dict:
    """A project as the dialect writes it: the list subset or the full row (single answers)."""
    d = ctx.dialect
    row = p.row if full else ctx.store.project_list_row(p)
    bare_id = full and d.project_answer_bare_id
    if not (bare_id or d.external_id_in_metadata or d.extra_fields):
        return row
    row = dict(row)
    if bare_id:
        row["id"] = bare(p.id)
    if d.external_id_in_metadata:
        metadata = dict(p.row["metadata"] or {})
        partner = dict(metadata.get("partner") or {})
        partner["customerExternalId"] = row.pop("customerExternalId")
        metadata["partner"] = partner
        row["metadata"] = metadata
    if d.extra_fields:
        row.update(
            d.extras({"self": f"/v1/projects/{p.id}", "content": f"/v1/projects/{p.id}/content"})
        )
    return row


def render_container(ctx: Ctx, c: Container, row: dict) -> dict:
    d = ctx.dialect
    if not d.extra_fields:
        return row
    return {
        **row,
        **d.extras({"self": f"/v1/content/{c.id}", "project": f"/v1/projects/{c.project_id}"}),
    }


# --------------------------------------------------------------------------- whoami
def whoami(ctx: Ctx):
    org = ctx.store.orgs[ctx.key.org_id]
    return (
        200,
        {
            "organizationId": org.id,
            "workspaceId": org.id,
            "organizationName": org.name,
            "parentOrganizationId": None,
            "scopes": list(ctx.key.scopes),
            "rateLimitTier": ctx.dialect.reported_tier or ctx.tier,
            "apiKeyId": ctx.key.id,
            "creditBalance": org.credit_balance,
        },
        {},
    )


# --------------------------------------------------------------------------- projects
def _decode_keyset(token: str, ts_field: str, id_field: str) -> tuple[str, str]:
    try:
        obj = b64url_decode_json(token)
        if not isinstance(obj, dict) or set(obj) != {ts_field, id_field}:
            raise ValueError
        ts, ident = obj[ts_field], obj[id_field]
        if not isinstance(ts, str) or not isinstance(ident, str):
            raise ValueError
        parse_iso(ts)
        return ts, ident
    except ValueError:
        raise validation("cursor is malformed; pass nextCursor back verbatim.", "cursor") from None


def projects_list(ctx: Ctx):
    refuse_reference_only(ctx, "status")
    status = q_enum(ctx, "status", ("active", "archived"), "active")
    limit = ctx.dialect.page_items(q_int(ctx, "limit", 25, 1, 200))
    search = (q_one(ctx, "search") or "").strip().lower()
    cext = q_one(ctx, "customerExternalId")
    cursor = q_one(ctx, "cursor")
    order = ctx.store.org_projects.get(ctx.key.org_id, [])
    start = len(order)
    if cursor:
        start = bisect_left(order, _decode_keyset(cursor, "createdAt", "id"))
    items, last = [], None
    for i in range(start - 1, -1, -1):
        p = ctx.store.projects[order[i][1]]
        if p.row["status"] != status:
            continue
        if search and search not in p.row["name"].lower():
            continue
        if cext is not None and p.row["customerExternalId"] != cext:
            continue
        if len(items) == limit:
            token = b64url_encode_json({"createdAt": last[0], "id": last[1]})
            return 200, page(ctx, items, token), {}
        items.append(render_project(ctx, p, full=False))
        last = order[i]
    return 200, page(ctx, items, None), {}


def project_get(ctx: Ctx):
    return 200, render_project(ctx, project_or_404(ctx), full=True), {}


_LANG_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BRAND_VOICES = ("authentic", "witty", "professional", "warm", "casual", "educational")
GENDERS = ("all", "female", "male")
SYSTEM_FIELDS = (
    "id",
    "organizationId",
    "createdAt",
    "updatedAt",
    "ingestState",
    "brandContext",
    "brand",
    "requiresApproval",
    "firstNPostsBlocked",
    "currentBlockedCount",
    "platformIosBundleId",
    "platformAndroidBundleId",
    "platformWebDomain",
    "archivedAt",
)


def _check_str(body, name, lo, hi, status, nullable=False):
    v = body[name]
    if v is None and nullable:
        return
    if not isinstance(v, str) or not (lo <= len(v.strip()) and len(v) <= hi):
        raise validation(f"{name} must be a string of {lo}-{hi} characters.", name, status)


def _validate_project_fields(body: dict, status: int, creating: bool) -> None:
    for name in body:
        if name in SYSTEM_FIELDS:
            raise validation(f"{name} is read-only.", name, status)
    allowed = {
        "name",
        "timezone",
        "customerExternalId",
        "ownerEmail",
        "primaryLanguage",
        "metadata",
        "appName",
        "appDescription",
    }
    if not creating:
        allowed |= {"status", "tagline", "brandVoice", "targetGender"}
    for name in body:
        if name not in allowed:
            raise validation(f"Unknown field {name!r}.", name, status)
    if "name" in body:
        _check_str(body, "name", 3, 30, status)
    if "timezone" in body:
        tz = body["timezone"]
        if not isinstance(tz, str) or tz not in iana_zones():
            raise validation(
                "timezone must be an IANA timezone such as America/Los_Angeles.", "timezone", status
            )
    if "customerExternalId" in body:
        _check_str(body, "customerExternalId", 1, 128, status, nullable=True)
    if "ownerEmail" in body:
        v = body["ownerEmail"]
        if not isinstance(v, str) or not _EMAIL_RE.match(v) or len(v) > 254:
            raise validation("ownerEmail must be an email address.", "ownerEmail", status)
    if "primaryLanguage" in body:
        v = body["primaryLanguage"]
        if not isinstance(v, str) or not _LANG_RE.match(v):
            raise validation(
                "primaryLanguage must be a BCP-47 tag such as en or pt-BR.",
                "primaryLanguage",
                status,
            )
    if "metadata" in body:
        v = body["metadata"]
        if v is not None and (not isinstance(v, dict) or len(json.dumps(v)) > 8192):
            raise validation("metadata must be a JSON object of at most 8 KB.", "metadata", status)
    if "appName" in body:
        _check_str(body, "appName", 3, 30, status, nullable=True)
    if "appDescription" in body:
        _check_str(body, "appDescription", 100, 1000, status, nullable=True)
    if "status" in body and body["status"] not in ("active", "archived"):
        raise validation("status must be active or archived.", "status", status)
    if "tagline" in body:
        _check_str(body, "tagline", 0, 80, status, nullable=True)
    if "brandVoice" in body and body["brandVoice"] not in (*BRAND_VOICES, None):
        raise validation(
            f"brandVoice must be one of: {', '.join(BRAND_VOICES)}.", "brandVoice", status
        )
    if "targetGender" in body and body["targetGender"] not in (*GENDERS, None):
        raise validation("targetGender must be one of: all, female, male.", "targetGender", status)


def _lift_external_id(ctx: Ctx, body: dict, status: int) -> dict:
    """Dialects that keep customerExternalId at ``metadata.partner`` (seed 003's wording):
    a value written there is the project's customerExternalId (a top-level one wins); the
    store keeps it in the top-level field and the rest of ``metadata`` as sent."""
    if not ctx.dialect.external_id_in_metadata:
        return body
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or "partner" not in metadata:
        return body
    partner = metadata["partner"]
    if not isinstance(partner, dict):
        raise validation("metadata.partner must be an object.", "metadata", status)
    if "customerExternalId" not in partner:
        return body
    partner = dict(partner)
    value = partner.pop("customerExternalId")
    metadata = dict(metadata)
    if partner:
        metadata["partner"] = partner
    else:
        del metadata["partner"]
    body = {**body, "metadata": metadata}
    body.setdefault("customerExternalId", value)
    return body


def project_create(ctx: Ctx):
    body = json_body(ctx, patch=False)
    if not isinstance(body, dict):
        raise validation("Request body must be a JSON object.")
    for req in ("name", "timezone"):
        if body.get(req) is None:
            raise validation(f"{req} is required.", req)
    body = _lift_external_id(ctx, body, 422)
    _validate_project_fields(body, 422, creating=True)
    store = ctx.store
    p = generate.empty_project(store, body, ctx.key.org_id)
    store.register_project(p)
    row = render_project(ctx, p, full=True)
    return 201, row, {"Location": f"/v1/projects/{row['id']}"}


_BRAND_KEYS = {
    "appName": "appName",
    "appDescription": "appDescription",
    "tagline": "tagline",
    "brandVoice": "brandVoice",
}


def project_patch(ctx: Ctx):
    p = project_or_404(ctx)
    status = ctx.dialect.patch_body_status
    body = json_body(ctx, patch=True)
    if not isinstance(body, dict) or not body:
        raise validation("Invalid patch body: send at least one field.", None, status)
    body = _lift_external_id(ctx, body, status)
    _validate_project_fields(body, status, creating=False)
    store = ctx.store
    row = p.row
    before = json.dumps(row, sort_keys=True)
    for name, value in body.items():
        if name in _BRAND_KEYS or name == "targetGender":
            bc = dict(row["brandContext"] or {})
            bc[_BRAND_KEYS.get(name, name)] = value
            row["brandContext"] = bc
        elif name == "status":
            if value == "archived" and row["status"] != "archived":
                p.archived_at = store.now
            elif value == "active":
                p.archived_at = None
            row["status"] = value
        else:
            row[name] = value
    if json.dumps(row, sort_keys=True) != before:
        row["updatedAt"] = iso(store.now)
    return 200, render_project(ctx, p, full=True), {}


def project_delete(ctx: Ctx):
    p = project_or_404(ctx)
    now = ctx.store.now
    p.archived_at = now
    p.row["status"] = "archived"
    p.row["updatedAt"] = iso(now)
    pid = bare(p.id) if ctx.dialect.project_answer_bare_id else p.id
    return (
        200,
        {"id": pid, "status": "archived", "archivedAt": iso(now), "canceledScheduledPosts": 0},
        {},
    )


# --------------------------------------------------------------------------- content
def content_list(ctx: Ctx):
    p = project_or_404(ctx)
    statuses = set(q_enum_list(ctx, "status", CONTAINER_STATUSES))
    formats = set(q_enum_list(ctx, "format", FORMATS))
    ctype = q_enum(ctx, "creativeType", CREATIVE_TYPES)
    since = q_time(ctx, "since")
    until = q_time(ctx, "until")
    if since is not None and until is not None and since > until:
        raise validation("since must be before or equal to until.", "since")
    limit = ctx.dialect.page_items(q_int(ctx, "limit", 25, 1, 200))
    order = p.c_order
    start = len(order)
    cursor = q_one(ctx, "cursor")
    if cursor:
        ts, ident = _decode_keyset(cursor, "createdAt", "id")
        start = bisect_left(order, (parse_iso(ts), ident))
    if until is not None:
        start = min(start, bisect_right(order, (until, "\uffff")))
    items, last = [], None
    containers = p.containers
    for i in range(start - 1, -1, -1):
        created, cid = order[i]
        if since is not None and created < since:
            break
        c = containers[cid]
        if statuses and c.status not in statuses:
            continue
        if formats and c.format not in formats:
            continue
        if ctype and c.creative_type != ctype:
            continue
        if len(items) == limit:
            token = b64url_encode_json({"createdAt": iso(last[0]), "id": last[1]})
            return 200, page(ctx, items, token), {}
        items.append(render_container(ctx, c, c.row()))
        last = order[i]
    return 200, page(ctx, items, None), {}


def content_get(ctx: Ctx):
    c = ctx.store.get_container(ctx.key.org_id, ctx.params["content_id"])
    if c is None:
        raise not_found("Content")
    return 200, render_container(ctx, c, c.detail()), {}


# --------------------------------------------------------------------------- approval (8.5)
REVIEW_TEXT_MAX = 1024


def _review_length(ctx: Ctx, text: str) -> int:
    """Length of a note or reason: code points, or UTF-16 units where the dialect says so."""
    if ctx.dialect.review_length_utf16:
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def _review_body(ctx: Ctx, field: str, required: bool) -> str | None:
    """The body's ``note`` (optional) or ``reason`` (required, 1-1024); nothing else allowed."""
    status = ctx.dialect.review_body_status
    if not ctx.body or not ctx.body.strip():
        body: object = {}
    else:
        try:
            body = json.loads(ctx.body)
        except (ValueError, UnicodeDecodeError):
            raise validation("Request body is not valid JSON.", None, status) from None
    if not isinstance(body, dict):
        raise validation("Request body must be a JSON object.", None, status)
    extra = sorted(set(body) - {field})
    if extra:
        raise validation(f"Unknown field {extra[0]!r}.", extra[0], status)
    value = body.get(field)
    if value is None:
        if required:
            raise validation(
                f"{field} is required (1-{REVIEW_TEXT_MAX} characters).", field, status
            )
        return None
    if not isinstance(value, str):
        raise validation(f"{field} must be a string.", field, status)
    length = _review_length(ctx, value)
    if (required and (length < 1 or not value.strip())) or length > REVIEW_TEXT_MAX:
        lo = 1 if required else 0
        raise validation(
            f"{field} must be {lo}-{REVIEW_TEXT_MAX} characters (got {length}).", field, status
        )
    return value


def _review_target(ctx: Ctx) -> Container:
    c = ctx.store.get_container(ctx.key.org_id, ctx.params["content_id"])
    if c is None:
        raise not_found("Content")
    return c


def _review_conflict(c: Container, action: str) -> ApiError:
    state = c.approval
    if state == "not_required":
        why = "this container does not require approval"
    elif state == "approved":
        why = "it is already approved; an approval cannot be undone"
    else:
        why = f"it is already {state}"
    return ApiError(
        409,
        "CONFLICT",
        f"Cannot {action} content {c.id}: {why}.",
        {"approvalStatus": state, "containerId": c.id},
    )


def _review_answer_head(ctx: Ctx, c: Container) -> dict:
    d = ctx.dialect
    return {"id": bare(c.id) if d.review_answer_bare_id else c.id}


def _reviewer(ctx: Ctx) -> str:
    return ctx.key.id if ctx.dialect.reviewer_is_key_id else "api_key_" + bare(ctx.key.id)


def content_approve(ctx: Ctx):
    """POST /content/{id}/approve: pending -> approved; promotes scheduled posts waiting."""
    c = _review_target(ctx)
    note = _review_body(ctx, "note", required=False)
    if c.approval != "pending":
        raise _review_conflict(c, "approve")
    now = iso(ctx.store.now)
    posts, outcome = c.blocked_posts()
    c.approval = "approved"
    c.review = {"approvedAt": now, "approvedBy": _reviewer(ctx), "note": note}
    c._row = None
    answer = {
        **_review_answer_head(ctx, c),
        "approvalStatus": "approved",
        "approvedAt": now,
        "approvedBy": c.review["approvedBy"],
    }
    if posts or ctx.dialect.promotion_always:
        answer["pendingSchedulePromotion"] = {"status": outcome, "scheduledPostIds": posts}
    ctx.events.append(("content.approved", c, {"approvalStatus": "approved", **c.review}))
    return 200, render_container(ctx, c, answer), {}


def content_reject(ctx: Ctx):
    """POST /content/{id}/reject: pending -> rejected, with the reason (REFERENCE 7.3, 8.5)."""
    c = _review_target(ctx)
    reason = _review_body(ctx, "reason", required=True)
    if c.approval != "pending":
        raise _review_conflict(c, "reject")
    now = iso(ctx.store.now)
    c.approval = "rejected"
    c.review = {"rejectedAt": now, "rejectedBy": _reviewer(ctx), "reason": reason}
    c._row = None
    answer = {
        **_review_answer_head(ctx, c),
        "approvalStatus": "rejected",
        "rejectedAt": now,
        "rejectedBy": c.review["rejectedBy"],
        "reason": reason,
    }
    ctx.events.append(("content.rejected", c, {"approvalStatus": "rejected", **c.review}))
    return 200, render_container(ctx, c, answer), {}


# --------------------------------------------------------------------------- ads-content
ADS_SORTS = ("score_desc", "score_asc", "scored_at_desc")


def _ads_cursor(token: str | None, sort: str):
    """Decode an ads-content cursor; anything forged or foreign means 'first page'."""
    if not token:
        return None
    try:
        obj = b64url_decode_json(token)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("sort") != sort or not isinstance(obj.get("id"), str):
        return None
    v = obj.get("v")
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    if sort == "scored_at_desc" and not isinstance(v, int):
        return None
    return (v, obj["id"])


def ads_content_list(ctx: Ctx):
    p = project_or_404(ctx)
    d = ctx.dialect
    pools = set(q_enum_list(ctx, "scoringPool", ("generated", "ugc", "manual")))
    min_score = q_float(ctx, "minScore", 0.0, 10.0)
    override = q_enum(ctx, "override", ("include", "exclude", "none"))
    eligible = q_bool(ctx, "eligible", None)
    refuse_reference_only(ctx, "sort")
    sort = q_enum(ctx, "sort", ADS_SORTS, "score_desc")
    limit = d.page_items(q_int(ctx, "limit", 50, 1, d.ads_content_max_limit))
    cur = _ads_cursor(q_one(ctx, "cursor"), sort)

    def accept(r) -> bool:
        if pools and r.pool not in pools:
            return False
        if min_score is not None and r.score < min_score:
            return False
        if override is not None and (r.override or "none") != override:
            return False
        return eligible is None or r.eligibility()[0] == eligible

    if cur is not None and ctx.faults is not None and ctx.faults.take_walk_rescore():
        generate.rescore_ahead(ctx.store, p, sort, cur, accept)
    keys, rows = p.sorted_ads(sort)
    desc = sort != "score_asc"
    if desc:
        start = len(keys) if cur is None else bisect_left(keys, cur)
        indices = range(start - 1, -1, -1)
    else:
        start = 0 if cur is None else bisect_right(keys, cur)
        indices = range(start, len(keys))
    now = ctx.store.now
    items, last = [], None
    for i in indices:
        r = rows[i]
        if not accept(r):
            continue
        if len(items) == limit:
            token = b64url_encode_json({"sort": sort, "v": last[0], "id": last[1]})
            return 200, page(ctx, items, token), {}
        items.append(r.row(now, d))
        last = keys[i]
    return 200, page(ctx, items, None), {}


def ads_content_patch(ctx: Ctx):
    p = project_or_404(ctx)
    row = ctx.store.get_ads_row(p, ctx.params["ads_id"])
    if row is None:
        raise not_found("ads_content row")
    d = ctx.dialect
    status = d.patch_body_status
    body = json_body(ctx, patch=True)
    if not isinstance(body, dict) or not body:
        raise validation("Invalid patch body.", None, status)
    extra = set(body) - {"override", "note"}
    if extra:
        raise validation(
            f"Invalid patch body: unknown field {sorted(extra)[0]!r}.", sorted(extra)[0], status
        )
    if "override" not in body:
        raise validation(
            "Invalid patch body: override is required (include, exclude or null).",
            "override",
            status,
        )
    override = body["override"]
    if override not in ("include", "exclude", None):
        raise validation(
            "Invalid patch body: override must be include, exclude or null.", "override", status
        )
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > 280):
        raise validation(
            "Invalid patch body: note must be a string of at most 280 characters.", "note", status
        )
    if p.archived:
        raise ApiError(
            409,
            "CONFLICT",
            "Project is archived; overrides cannot change. "
            "PATCH the project with status 'active' first.",
            {"projectId": p.id, "status": "archived"},
        )
    ctx.store.set_override(p, row, override, note, "note" in body, ctx.key, ctx.request_id)
    answer = row.row(ctx.store.now, d)
    if d.ads_patch_id != d.ads_list_id:  # the same creative, named in another id form
        answer = {**answer, "adsContentId": d.ads_patch_id.render(row.id)}
    return 200, answer, {}


# --------------------------------------------------------------------------- top performers
METRICS = ("views", "engagement_rate", "conversions", "roas", "watch_time_ms")
PAID_METRICS = ("conversions", "roas")
SOURCE_TYPES = ("content_container", "platform_post", "manual")


def top_performers(ctx: Ctx):
    p = project_or_404(ctx)
    metric = q_one(ctx, "metric")
    if not metric:
        raise validation(
            "metric is required: one of views, engagement_rate, conversions, roas, watch_time_ms.",
            "metric",
        )
    q_enum(ctx, "metric", METRICS)
    window = q_enum(ctx, "window", ("7d", "30d", "90d"), "30d")
    sources = set(q_enum_list(ctx, "sourceType", SOURCE_TYPES))
    platforms = q_enum_list(ctx, "platform", ORGANIC_PLATFORMS + AD_PLATFORMS)
    limit = q_int(ctx, "limit", 25, 1, 100)
    include_ineligible = q_bool(ctx, "includeIneligible", False)
    d = ctx.dialect
    if d.paid_metric_needs_paid_source:  # "organic-only mix" includes an omitted sourceType
        refused = not sources or not sources <= {"content_container", "manual"}
    else:  # only an explicit sourceType of platform posts alone is organic-only
        refused = bool(sources) and sources <= {"platform_post"}
    if metric in PAID_METRICS and refused:
        raise validation(
            f"metric={metric} requires paid data. Filter sourceType to content_container "
            "or manual, or pick an organic metric.",
            "sourceType",
        )
    org_filter = {x for x in platforms if x in ORGANIC_PLATFORMS}
    ad_filter = {x for x in platforms if x in AD_PLATFORMS}
    store = ctx.store
    organic_w, paid_w = p.metrics.windows(store.now)[window]

    candidates = []  # (source_type, source_id, pp_id, ads_id, title, thumb, key)
    for r in p.ads.values():
        if not include_ineligible and not r.eligibility()[0]:
            continue  # the eligibility gate, on both the organic and the paid path
        candidates.append((r.source_type, r.source_id, r.pp_id, r.id, r.title, r.thumb, r.id))
    for u in p.unmapped.values():
        # unmapped paid rows: no scoring signal, so they pass the gate
        candidates.append(("manual", None, None, None, u.title, u.thumb, u.key))

    items = []
    for source_type, source_id, pp_id, ads_id, title, thumb, key in candidates:
        if sources and source_type not in sources:
            continue
        organic = None
        if source_type != "manual":
            per_platform = organic_w.get(key)
            if per_platform:
                if org_filter:
                    per_platform = {k: v for k, v in per_platform.items() if k in org_filter}
                    if not per_platform:
                        continue  # not posted on any requested platform
                views = sum(v[0] for v in per_platform.values())
                eng = sum(v[1] for v in per_platform.values())
                watch = sum(v[2] for v in per_platform.values())
                organic = {
                    "views": views,
                    "engagementRate": round(eng / views, 4) if views else 0.0,
                    "platforms": sorted(per_platform),
                    "watchTimeMs": watch,
                }
                organic_watch = any(k in WATCH_PLATFORMS for k in per_platform)
            elif org_filter:
                continue
        paid = None
        per_ad = paid_w.get(key)
        if per_ad:
            if ad_filter:
                per_ad = {k: v for k, v in per_ad.items() if k in ad_filter}
            spend = sum(v[0] for v in per_ad.values())
            conv = sum(v[1] for v in per_ad.values())
            revenue = sum(v[2] for v in per_ad.values())
            if spend > 0:
                paid = {
                    "spend": round(spend / 100, 2),
                    "conversions": conv,
                    "roas": round(revenue / spend, 2),
                    "cpa": round(spend / 100 / conv, 2) if conv else None,
                }
        if metric in PAID_METRICS:
            if paid is None:
                continue  # never promoted (in this window): not rankable by a paid metric
            value = paid[metric]
        else:
            if organic is None:
                continue  # manual uploads and unposted creatives have no organic metrics
            if metric == "watch_time_ms" and not organic_watch:
                continue
            value = {"views": organic["views"], "engagement_rate": organic["engagementRate"]}.get(
                metric, organic["watchTimeMs"]
            )
        item = {
            "rank": 0,
            "sourceType": source_type,
            "sourceId": d.top_source_id.render(bare(source_id)) if source_id else None,
            "platformPostId": pp_id,
            "adsContentId": d.top_ads_id.render(ads_id) if ads_id else None,
            "title": title,
            "thumbnailUrl": thumb,
            "metricValue": value,
            "organic": organic,
            "paid": paid,
        }
        if d.extra_fields:
            links = {"project": f"/v1/projects/{p.id}"}
            if ads_id:
                links["adsContent"] = f"/v1/projects/{p.id}/ads-content/{ads_id}"
            item.update(d.extras(links))
        items.append((value, ads_id or "", key, item))
    # Sorted by the metric descending; ties break on adsContentId descending (unmapped
    # rows, which have none, sort after mapped ones and by their internal key).
    items.sort(key=lambda t: (t[0], t[1], t[2]), reverse=True)
    out = []
    for rank, (_, _, _, item) in enumerate(items[:limit], start=1):
        item["rank"] = rank
        out.append(item)
    return 200, {"metric": metric, "window": window, "items": out}, {}


# --------------------------------------------------------------------------- audit log
def audit_log(ctx: Ctx):
    store = ctx.store
    refuse_reference_only(ctx, "eventType", "projectId", "apiKeyId", "since", "until")
    event_type = q_one(ctx, "eventType")
    project_id = q_one(ctx, "projectId")
    key_id = q_one(ctx, "apiKeyId")
    since = q_time(ctx, "since")
    until = q_time(ctx, "until")
    limit = ctx.dialect.page_items(q_int(ctx, "limit", 50, 1, 200))
    cursor = q_one(ctx, "cursor")
    store.materialize_org(ctx.key.org_id)
    events = store.audit.get(ctx.key.org_id, [])
    start = 0
    if cursor:
        ts, ev_id = _decode_keyset(cursor, "occurredAt", "eventId")
        keys = store.audit_keys.get(ctx.key.org_id, [])
        start = bisect_right(keys, (-parse_iso(ts), ev_id))
    if project_id:
        project_id = "prj_" + normalise_id(project_id, "prj_")
    items, last = [], None
    for ev in events[start:]:
        if until is not None and ev.ts > until:
            continue
        if since is not None and ev.ts < since:
            break
        b = ev.body
        if event_type and b["eventType"] != event_type:
            continue
        if project_id and b["projectId"] != project_id:
            continue
        if key_id and b["apiKeyId"] != key_id:
            continue
        if len(items) == limit:
            token = b64url_encode_json({"occurredAt": iso(last.ts), "eventId": last.event_id})
            return 200, page(ctx, items, token), {}
        items.append(b)
        last = ev
    return 200, page(ctx, items, None), {}


# --------------------------------------------------------------------------- routing
_ID = r"([A-Za-z0-9_\-]+)"
ROUTES = [
    ("GET", r"^/v1/whoami$", whoami, None, ()),
    ("GET", r"^/v1/projects$", projects_list, "projects:read", ()),
    ("POST", r"^/v1/projects$", project_create, "projects:write", ()),
    ("GET", rf"^/v1/projects/{_ID}$", project_get, "projects:read", ("project_id",)),
    ("PATCH", rf"^/v1/projects/{_ID}$", project_patch, "projects:write", ("project_id",)),
    ("DELETE", rf"^/v1/projects/{_ID}$", project_delete, "projects:write", ("project_id",)),
    ("GET", rf"^/v1/projects/{_ID}/content$", content_list, "content:read", ("project_id",)),
    ("GET", rf"^/v1/content/{_ID}$", content_get, "content:read", ("content_id",)),
    (
        "POST",
        rf"^/v1/content/{_ID}/approve$",
        content_approve,
        "content:approve",
        ("content_id",),
    ),
    ("POST", rf"^/v1/content/{_ID}/reject$", content_reject, "content:approve", ("content_id",)),
    (
        "GET",
        rf"^/v1/projects/{_ID}/ads-content$",
        ads_content_list,
        "metrics:read",
        ("project_id",),
    ),
    (
        "PATCH",
        rf"^/v1/projects/{_ID}/ads-content/{_ID}$",
        ads_content_patch,
        "ads:write",
        ("project_id", "ads_id"),
    ),
    (
        "GET",
        rf"^/v1/projects/{_ID}/top-performers$",
        top_performers,
        "metrics:read",
        ("project_id",),
    ),
    ("GET", r"^/v1/audit-log$", audit_log, None, ()),
]
_COMPILED = [(m, re.compile(rx), fn, scope, names) for m, rx, fn, scope, names in ROUTES]


def resolve(method: str, path: str):
    """``(handler, scope, params)``; raises 404 for an unknown path, 405 for a wrong method."""
    allowed = []
    for m, rx, fn, scope, names in _COMPILED:
        match = rx.match(path)
        if match:
            if m == method:
                return fn, scope, dict(zip(names, match.groups(), strict=True))
            allowed.append(m)
    if allowed:
        raise ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"{method} is not allowed on {path}.",
            headers={"Allow": ", ".join(sorted(set(allowed)))},
        )
    raise ApiError(404, "NOT_FOUND", f"No route for {method} {path}.")
