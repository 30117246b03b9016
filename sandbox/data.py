"""In-memory state of the sandbox: organizations, keys, projects, containers,
ads-content rows, metrics series, the audit log and idempotency records.

Everything is deterministic: the same (seed, sizes, start time) gives the same data,
byte for byte. Projects are generated lazily (on first touch) from a per-project RNG,
so startup is instant and generation order does not matter. Anything that needs the
whole organization (``/_sandbox/advance``, ``/audit-log``, an unknown content id)
materializes every project first.

All access goes through ``Store.lock`` (the HTTP layer holds it for a whole request).
"""

from __future__ import annotations

import hashlib
import random
import threading
from bisect import bisect_left, insort
from dataclasses import dataclass, field

from . import generate
from .dialects import SEED, Dialect, bare, normalise_id
from .metrics import ProjectMetrics
from .util import DAY, HOUR, api_key_from, iso, key_prefix, sub_seed, ulid_from, uuid_from

THRESHOLD = 4.0

ALL_SCOPES = (
    "projects:read",
    "projects:write",
    "content:read",
    "content:write",
    "content:approve",
    "metrics:read",
    "ads:read",
    "ads:write",
)
READ_SCOPES = ("projects:read", "content:read", "metrics:read")

CONTAINER_STATUSES = ("queued", "processing", "completed", "failed", "canceled")
FORMATS = ("slideshow-builder", "ugc-remix", "video-remix", "slideshow-remix")
CREATIVE_TYPES = ("generated", "uploaded")


@dataclass
class Org:
    id: str
    name: str
    owner_email: str
    credit_balance: int


@dataclass
class ApiKey:
    label: str
    secret: str
    id: str
    org_id: str
    scopes: tuple[str, ...]
    prefix: str = ""

    def __post_init__(self) -> None:
        self.prefix = key_prefix(self.secret)

    @property
    def set_by(self) -> str:
        return f"{self.prefix} ({self.id})"


def eligibility(score: float, override: str | None) -> tuple[bool, str]:
    """Ad eligibility gate: exclude wins, include bypasses the threshold, else score >= 4.0."""
    if override == "exclude":
        return False, "excluded by override"
    if override == "include":
        return True, "included by override"
    if score >= THRESHOLD:
        return True, "organic score at or above 4.0"
    return False, "organic score below 4.0"


class Container:
    """A content container (generated or uploaded)."""

    __slots__ = (
        "id",
        "project_id",
        "created",
        "status",
        "format",
        "creative_type",
        "caption",
        "hook",
        "first_comment",
        "ads_enrollment",
        "approval",
        "completed",
        "failed",
        "last_error",
        "start_at",
        "done_at",
        "outcome",
        "kind",
        "slides",
        "aspect",
        "duration_ms",
        "title",
        "colour",
        "media",
        "review",
        "_row",
    )

    def __init__(self, **kw) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        self._row = None

    def key(self) -> tuple[int, str]:
        return (self.created, self.id)

    def blocked_posts(self) -> tuple[list[str], str]:
        """Scheduled posts waiting for this container's approval (REFERENCE 7.3: scheduling a
        pending container under a review policy blocks it) and how their promotion goes:
        ``(ids, "ok"|"failed")``. Derived from the id: about a quarter of containers have
        two posts waiting, a sixteenth one whose promotion fails; the rest none."""
        h = hashlib.sha256(f"{self.id}:scheduled".encode()).hexdigest()
        pick = int(h[:2], 16)
        if pick < 64:
            count, status = 2, "ok"
        elif pick < 80:
            count, status = 1, "failed"
        else:
            return [], "ok"
        ids = [f"sp_{h[2 + 26 * i : 28 + 26 * i].upper()}" for i in range(count)]
        return ids, status

    def _base(self) -> str:
        return f"{self.media}/{self.project_id}/{self.id}"

    def thumbnail_url(self) -> str:
        if self.kind == "video":
            return self._base() + "/poster.svg"
        return self._base() + "/slide-01.svg"

    def _asset_id(self, i: int) -> str:
        h = hashlib.sha256(f"{self.id}:{i}".encode()).hexdigest()
        return f"ast_{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def has_output(self) -> bool:
        return self.status == "completed"

    def preview(self) -> dict | None:
        if not self.has_output():
            return None
        base = self._base()
        if self.kind == "slideshow":
            urls = [f"{base}/slide-{i:02d}.svg" for i in range(1, self.slides + 1)]
            return {
                "kind": "slideshow",
                "primaryUrl": urls[0],
                "thumbnailUrl": urls[0],
                "imageUrls": urls,
                "videoUrl": None,
                "hlsUrl": None,
                "durationMs": None,
                "aspectRatio": self.aspect,
            }
        if self.kind == "video":
            video = f"{base}/video.svg"
            return {
                "kind": "video",
                "primaryUrl": video,
                "thumbnailUrl": f"{base}/poster.svg",
                "imageUrls": [],
                "videoUrl": video,
                "hlsUrl": None,
                "durationMs": self.duration_ms,
                "aspectRatio": self.aspect,
            }
        url = f"{base}/slide-01.svg"
        return {
            "kind": "image",
            "primaryUrl": url,
            "thumbnailUrl": url,
            "imageUrls": [url],
            "videoUrl": None,
            "hlsUrl": None,
            "durationMs": None,
            "aspectRatio": self.aspect,
        }

    def row(self) -> dict:
        """The list row (cached until the container changes)."""
        if self._row is None:
            preview = self.preview()
            primary = None
            if preview is not None:
                primary = {
                    "assetId": self._asset_id(1),
                    "kind": "video" if self.kind == "video" else "image",
                    "thumbnailUrl": preview["thumbnailUrl"],
                }
            self._row = {
                "id": self.id,
                "projectId": self.project_id,
                "status": self.status,
                "format": self.format,
                "caption": self.caption,
                "creativeType": self.creative_type,
                "adsEnrollment": self.ads_enrollment,
                "approvalStatus": self.approval,
                "createdAt": iso(self.created),
                "completedAt": iso(self.completed),
                "preview": preview,
                "primaryAsset": primary,
            }
        return self._row

    def detail(self) -> dict:
        out = dict(self.row())
        assets = []
        if self.has_output():
            base = self._base()
            if self.kind == "video":
                assets.append(
                    {
                        "assetId": self._asset_id(1),
                        "kind": "video",
                        "url": f"{base}/video.svg",
                        "thumbnailUrl": f"{base}/poster.svg",
                    }
                )
            else:
                for i in range(1, (self.slides or 1) + 1):
                    url = f"{base}/slide-{i:02d}.svg"
                    assets.append(
                        {
                            "assetId": self._asset_id(i),
                            "kind": "image",
                            "url": url,
                            "thumbnailUrl": url,
                        }
                    )
        out.update(
            {
                "hook": self.hook,
                "firstComment": self.first_comment,
                "assets": assets,
                "failedAt": iso(self.failed),
                "lastError": self.last_error,
            }
        )
        return out

    def step_to(self, t: int) -> str | None:
        """Move an in-flight container along its plan; returns the new status if it changed."""
        if self.status not in ("queued", "processing"):
            return None
        new = self.status
        if t >= self.done_at:
            new = self.outcome
        elif t >= self.start_at:
            new = "processing"
        if new == self.status:
            return None
        self.status = new
        if new == "completed":
            self.completed = self.done_at
        elif new == "failed":
            self.failed = self.done_at
            code, msg = self.last_error or ("RENDER_FAILED", "Render failed.")
            self.last_error = {"code": code, "message": msg}
        self._row = None
        return new


class AdsRow:
    """An ads_content row: one scored creative (generated, UGC or manual)."""

    __slots__ = (
        "id",
        "project_id",
        "source_type",
        "source_id",
        "pp_id",
        "pool",
        "score",
        "scored_at",
        "version",
        "override",
        "note",
        "set_by",
        "set_at",
        "title",
        "thumb",
        "org_perf",
        "ad_perf",
        "promotions",
        "created",
        "_row",
        "_now",
    )

    def __init__(self, **kw) -> None:
        for k in self.__slots__:
            setattr(self, k, kw.get(k))
        if self.promotions is None:
            self.promotions = []
        self._row = None
        self._now = None

    def eligibility(self) -> tuple[bool, str]:
        return eligibility(self.score, self.override)

    def touch(self) -> None:
        self._row = None

    def row(self, now: int, dialect: Dialect) -> dict:
        """The list row: exactly the seed-001 fields (plus the dialect's extras), ids in the
        dialect's list forms. Cached until the row changes or the clock moves."""
        if self._row is None or self._now != (now, dialect):
            ok, reason = self.eligibility()
            source_id = self.source_id
            if source_id is not None:
                source_id = dialect.ads_list_source_id.render(bare(source_id))
            self._row = {
                "adsContentId": dialect.ads_list_id.render(self.id),
                "sourceType": self.source_type,
                "sourceId": source_id,
                "platformPostId": self.pp_id,
                "scoringPool": self.pool,
                "organicScore": self.score,
                "organicPerformance": self.org_perf,
                "adPerformance": self.ad_perf,
                "scoredAt": iso(self.scored_at),
                "scoringVersion": self.version,
                "eligibility": {"isEligible": ok, "reason": reason},
                "override": self.override,
                "overrideNote": self.note,
                "overrideSetBy": self.set_by,
                "overrideSetAt": iso(self.set_at),
                "activePromotions": [
                    {
                        "platform": p.platform,
                        "campaignId": p.campaign_id,
                        "adId": p.ad_id,
                        "startedAt": iso(p.start_day * DAY),
                    }
                    for p in self.promotions
                    if p.active_at(now)
                ],
            }
            if dialect.extra_fields:
                self._row.update(
                    dialect.extras(
                        {
                            "self": f"/v1/projects/{self.project_id}/ads-content/{self.id}",
                            "project": f"/v1/projects/{self.project_id}",
                        }
                    )
                )
            self._now = (now, dialect)
        return self._row


@dataclass
class Unmapped:
    """A paid ad whose creative is not linked to any ads_content row."""

    key: str
    title: str
    thumb: str


@dataclass
class Project:
    idx: int
    id: str
    org_id: str
    n_creatives: int
    row: dict
    archived_at: int | None = None
    generated: bool = True
    materialized: bool = False
    containers: dict[str, Container] = field(default_factory=dict)
    c_order: list[tuple[int, str]] = field(default_factory=list)
    ads: dict[str, AdsRow] = field(default_factory=dict)
    sorted_cache: dict[str, tuple[list, list]] = field(default_factory=dict)
    metrics: ProjectMetrics = field(default_factory=ProjectMetrics)
    unmapped: dict[str, Unmapped] = field(default_factory=dict)
    media_titles: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def archived(self) -> bool:
        return self.row["status"] == "archived"

    def add_container(self, c: Container) -> None:
        self.containers[c.id] = c
        insort(self.c_order, c.key())

    def add_ads(self, r: AdsRow) -> None:
        self.ads[r.id] = r
        self.sorted_cache.clear()

    def sorted_ads(self, sort: str) -> tuple[list, list]:
        """(keys ascending, rows ascending) for a sort; iterate backwards for *_desc."""
        got = self.sorted_cache.get(sort)
        if got is None:
            if sort == "scored_at_desc":
                pairs = sorted(((r.scored_at, r.id), r) for r in self.ads.values())
            else:
                pairs = sorted(((r.score, r.id), r) for r in self.ads.values())
            got = ([k for k, _ in pairs], [r for _, r in pairs])
            self.sorted_cache[sort] = got
        return got


LIST_FIELDS = (
    "id",
    "name",
    "status",
    "customerExternalId",
    "timezone",
    "primaryLanguage",
    "ownerEmail",
    "createdAt",
    "updatedAt",
)


@dataclass
class AuditEvent:
    ts: int
    event_id: str
    body: dict

    @property
    def sort_key(self) -> tuple[int, str]:
        return (-self.ts, self.event_id)


class Store:
    """All sandbox state; see module docstring."""

    def __init__(
        self,
        *,
        seed: int = 1,
        projects: int = 6,
        creatives_per_project: int = 120,
        now: int,
        media_base: str,
        api_key: str | None = None,
        dialect: Dialect = SEED,
    ) -> None:
        self.lock = threading.RLock()
        self.dialect = dialect
        self.seed = seed
        self.n_projects = projects
        self.n_creatives = creatives_per_project
        self.start = now
        self.now = now
        self.media = media_base
        self.rng = random.Random(sub_seed(seed, "store"))
        self.advance_seq = 0
        self.event_seq = 0
        self.projects: dict[str, Project] = {}
        self.org_projects: dict[str, list[tuple[int, str]]] = {}
        self.container_index: dict[str, Project] = {}
        self.audit: dict[str, list[AuditEvent]] = {}
        self.audit_keys: dict[str, list[tuple[int, str]]] = {}
        self.idempotency: dict[tuple, tuple] = {}
        self._build_orgs(api_key)
        generate.build_projects(self)

    # ----------------------------------------------------------------- orgs, keys
    def _build_orgs(self, api_key: str | None) -> None:
        r = random.Random(sub_seed(self.seed, "orgs"))
        self.orgs = {}
        org1 = Org(
            "org_" + uuid_from(r),
            "Sandbox Partner Agency",
            "partner-admin@sandbox-agency.example",
            25_000,
        )
        org2 = Org("org_" + uuid_from(r), "Other Org Studio", "owner@other-org.example", 4_000)
        self.orgs = {org1.id: org1, org2.id: org2}
        self.org1, self.org2 = org1, org2
        specs = [
            ("main", org1, ALL_SCOPES),
            ("readonly", org1, READ_SCOPES),
            ("teammate", org1, ALL_SCOPES),
            ("noscope", org1, ()),
            ("other_org", org2, ALL_SCOPES),
            ("other_teammate", org2, ALL_SCOPES),
        ]
        self.keys: dict[str, ApiKey] = {}
        for label, org, scopes in specs:
            secret = api_key if (label == "main" and api_key) else api_key_from(self.seed, label)
            self.keys[label] = ApiKey(label, secret, "key_" + uuid_from(r), org.id, tuple(scopes))
        self.by_secret = {k.secret: k for k in self.keys.values()}
        self.actor_key = {org1.id: self.keys["teammate"], org2.id: self.keys["other_teammate"]}

    def authenticate(self, secret: str) -> ApiKey | None:
        return self.by_secret.get(secret)

    # ----------------------------------------------------------------- projects
    def register_project(self, p: Project) -> None:
        self.projects[p.id] = p
        insort(self.org_projects.setdefault(p.org_id, []), (p.row["createdAt"], p.id))

    def materialize(self, p: Project) -> Project:
        if not p.materialized:
            p.materialized = True
            if p.generated:
                generate.materialize(self, p)
        return p

    def materialize_org(self, org_id: str) -> None:
        for _, pid in self.org_projects.get(org_id, []):
            self.materialize(self.projects[pid])

    def materialize_all(self) -> None:
        for p in list(self.projects.values()):
            self.materialize(p)

    def project_by_any_id(self, project_id: str) -> Project | None:
        """Project by any id form: ``prj_<uuid>`` or bare, any letter case (not materialized)."""
        return self.projects.get("prj_" + normalise_id(project_id, "prj_"))

    def get_project(self, org_id: str, project_id: str) -> Project | None:
        """Project by any id form inside ``org_id`` (materialized); None otherwise."""
        p = self.project_by_any_id(project_id)
        if p is None or p.org_id != org_id:
            return None
        return self.materialize(p)

    def project_list_row(self, p: Project) -> dict:
        return {k: p.row[k] for k in LIST_FIELDS}

    def new_uuid(self) -> str:
        return uuid_from(self.rng)

    # ----------------------------------------------------------------- content
    def get_container(self, org_id: str, container_id: str) -> Container | None:
        cid = "cnt_" + normalise_id(container_id, "cnt_")
        p = self.container_index.get(cid)
        if p is None:
            self.materialize_org(org_id)
            p = self.container_index.get(cid)
        if p is None or p.org_id != org_id:
            return None
        return p.containers.get(cid)

    # ----------------------------------------------------------------- ads-content
    @staticmethod
    def get_ads_row(p: Project, ads_content_id: str) -> AdsRow | None:
        """A creative of ``p`` by any id form: bare or ``adc_``, any letter case."""
        return p.ads.get(normalise_id(ads_content_id, "adc_"))

    # ----------------------------------------------------------------- overrides
    def set_override(
        self,
        p: Project,
        row: AdsRow,
        override: str | None,
        note: str | None,
        note_given: bool,
        key: ApiKey,
        request_id: str,
        at: int | None = None,
        event_rand: int | None = None,
    ) -> bool:
        """Apply an override; returns False (and changes nothing) for a no-op."""
        at = self.now if at is None else at
        if override == row.override and (not note_given or note == row.note):
            return False
        before = row.override
        if override is None:
            row.override = row.note = row.set_by = row.set_at = None
        else:
            if not note_given:
                note = row.note if override == before else None
            row.override, row.note = override, note
            row.set_by, row.set_at = key.set_by, at
        row.touch()
        self.add_audit(
            org_id=p.org_id,
            project_id=p.id,
            key=key,
            ts=at,
            request_id=request_id,
            event_type="creative_override",
            data={"adsContentId": row.id, "before": before, "after": override, "note": note},
            rand=event_rand,
        )
        return True

    # ----------------------------------------------------------------- audit
    def add_audit(
        self, *, org_id, project_id, key, ts, request_id, event_type, data, rand=None
    ) -> AuditEvent:
        """Record an event. ``rand`` (80 bits) comes from the project RNG for generated
        events, so their ids do not depend on which project was materialized first."""
        if rand is None:
            # Live events: later ones get a smaller random part so that, at equal
            # occurredAt, eventId ascending (the documented keyset) lists the newest first.
            self.event_seq += 1
            rand = (1 << 80) - 1 - self.event_seq
        event_id = "evt_" + ulid_from(ts * 1000, rand)
        ev = AuditEvent(
            ts,
            event_id,
            {
                "eventId": event_id,
                "eventType": event_type,
                "occurredAt": iso(ts),
                "requestId": request_id,
                "organizationId": org_id,
                "projectId": project_id,
                "apiKeyId": key.id,
                "actor": "partner_api",
                "data": data,
            },
        )
        events = self.audit.setdefault(org_id, [])
        keys = self.audit_keys.setdefault(org_id, [])
        i = bisect_left(keys, ev.sort_key)
        keys.insert(i, ev.sort_key)
        events.insert(i, ev)
        return ev

    # ----------------------------------------------------------------- clock
    def advance(self, hours: float) -> dict:
        """Move the virtual clock; see generate.advance_project for what changes."""
        self.materialize_all()
        t0 = self.now
        t1 = t0 + int(round(hours * HOUR))
        self.advance_seq += 1
        summary = {"previous": iso(t0), "now": iso(t1), "hours": hours, "projects": {}}
        self.now = t1
        totals: dict[str, int] = {}
        for p in list(self.projects.values()):
            ps = generate.advance_project(self, p, t0, t1, self.advance_seq)
            p.metrics.invalidate()
            if ps:
                summary["projects"][p.id] = ps
                for k, v in ps.items():
                    totals[k] = totals.get(k, 0) + len(v)
        summary["totals"] = totals
        return summary

    # ----------------------------------------------------------------- test helpers
    def clear_metrics(self, project_id: str) -> None:
        """Test helper: drop every metrics series of a project (ads rows stay)."""
        with self.lock:
            p = self.materialize(self.project_by_any_id(project_id))
            p.metrics.organic.clear()
            p.metrics.paid.clear()
            p.unmapped.clear()
            p.metrics.invalidate()

    def set_daily_metrics(
        self,
        project_id: str,
        creative: str,
        platform: str,
        day: str,
        *,
        views: int = 0,
        engagements: int = 0,
        watch_time_ms: int = 0,
        spend_cents: int = 0,
        conversions: int = 0,
        revenue_cents: int = 0,
    ) -> None:
        """Test helper: pin one daily bucket (UTC date ``YYYY-MM-DD``) of a creative.

        ``creative`` is an adsContentId (any id form), or any other string for an unmapped
        paid row.
        """
        with self.lock:
            self._set_daily_metrics(
                project_id,
                creative,
                platform,
                day,
                (views, engagements, watch_time_ms),
                (spend_cents, conversions, revenue_cents),
            )

    def _set_daily_metrics(self, project_id, creative, platform, day, organic, paid) -> None:
        from .metrics import AD_PLATFORMS, OrganicSeries, PaidSeries
        from .util import parse_iso

        p = self.materialize(self.project_by_any_id(project_id))
        row = self.get_ads_row(p, creative)
        if row is not None:
            creative = row.id
        d = parse_iso(day) // DAY
        if platform in AD_PLATFORMS:
            series = next(
                (s for s in p.metrics.paid if s.creative == creative and s.platform == platform),
                None,
            )
            if series is None:
                series = PaidSeries(creative, platform, d, d, 0, 1, 0.0, 0, "cmp_test", "0")
                p.metrics.paid.append(series)
                if creative not in p.ads and creative not in p.unmapped:
                    p.unmapped[creative] = Unmapped(
                        creative, f"Ad {creative}", f"{self.media}/{p.id}/{creative}/cover.svg"
                    )
            vals = paid
        else:
            series = next(
                (s for s in p.metrics.organic if s.creative == creative and s.platform == platform),
                None,
            )
            if series is None:
                series = OrganicSeries(creative, platform, d, 0.0, 0.5, 0, 0.0, 0, None, 0)
                p.metrics.organic.append(series)
            vals = organic
        if series.explicit is None:
            series.explicit = {}
        series.explicit[d] = vals
        p.metrics.invalidate()
