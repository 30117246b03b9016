"""Deterministic data generator and the clock-advance simulation.

Every project draws from its own RNG (seeded from the global seed and the project's
index), so a project's data does not depend on which projects were generated before it.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING

from . import text
from .metrics import AD_PLATFORMS, ORGANIC_PLATFORMS, OrganicSeries, PaidSeries
from .util import DAY, HOUR, iso, sub_seed, ulid_from, uuid_from

if TYPE_CHECKING:  # pragma: no cover
    from .data import AdsRow, Project, Store

GEN_FORMAT_WEIGHTS = (
    ("slideshow-builder", 0.4),
    ("ugc-remix", 0.3),
    ("video-remix", 0.15),
    ("slideshow-remix", 0.15),
)
AD_NAMES = {"meta_ads": "Meta", "tiktok_ads": "TikTok", "apple_ads": "Apple Search Ads"}
ENVS = ("prod", "prod", "eu", "us")
ASPECTS = ("9:16", "9:16", "9:16", "4:5", "1:1")


def _ri(rng: random.Random, lo: int, hi: int) -> int:
    """Like ``randrange(lo, hi)`` but ~20x cheaper (the generator's hot path)."""
    return lo + int(rng.random() * (hi - lo))


def _ch(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def _weighted(rng: random.Random, pairs) -> str:
    x = rng.random() * sum(w for _, w in pairs)
    for v, w in pairs:
        x -= w
        if x < 0:
            return v
    return pairs[-1][0]


# --------------------------------------------------------------------------- projects
def build_projects(store: Store) -> None:
    """Create the project rows of both organizations (their content comes later, lazily)."""
    n1 = store.n_projects
    n2 = 2
    total = n1 + n2
    names_rng = random.Random(sub_seed(store.seed, "names"))
    combos = [(p, b) for p in text.PREFIXES for b in text.BRANDS]
    names_rng.shuffle(combos)
    for idx in range(total):
        org = store.org1 if idx < n1 else store.org2
        n_creatives = store.n_creatives if idx < n1 else min(store.n_creatives, 30)
        p = _project_row(
            store, idx, org, combos[idx % len(combos)], n_creatives, archived=(idx == 3 and n1 >= 4)
        )
        store.register_project(p)


def _project_row(store: Store, idx: int, org, combo, n_creatives: int, archived: bool):
    from .data import Project

    rng = random.Random(sub_seed(store.seed, "project", idx))
    prefix, (brand, category) = combo
    name = f"{prefix} {brand}"
    slug = name.lower().replace(" ", "-")
    pid = "prj_" + uuid_from(rng)
    created = store.start - 130 * DAY - (40 - idx % 40) * 2 * DAY - _ri(rng, 0, 20 * HOUR)
    updated = created + _ri(rng, 1, 90) * DAY
    tz = _ch(rng, text.TIMEZONES)
    lang = _ch(rng, text.LANGUAGES)
    archived_at = store.start - _ri(rng, 3, 20) * DAY if archived else None
    if archived_at:
        updated = archived_at
    row = {
        "id": pid,
        "organizationId": org.id,
        "name": name,
        "status": "archived" if archived else "active",
        "customerExternalId": f"{slug}-{_ch(rng, ENVS)}-{_ri(rng, 1000, 9999)}",
        "timezone": tz,
        "primaryLanguage": lang,
        "ownerEmail": f"growth@{slug}.example",
        "brand": None,
        "brandContext": {
            "appName": name,
            "appDescription": None,
            "tagline": f"{text.cap(_ch(rng, text.TOPICS[category]))}, made simple.",
            "audience": None,
            "icp": None,
            "brandVoice": _ch(rng, ["authentic", "witty", "warm", "casual", "educational"]),
            "keywords": [category, brand.lower(), prefix.lower()],
            "primaryLanguage": lang,
            "logoUrl": f"{store.media}/{pid}/{pid}/logo.svg",
        },
        "platformIosBundleId": f"com.{prefix.lower().replace(' ', '')}.{category}",
        "platformAndroidBundleId": f"com.{prefix.lower().replace(' ', '')}.{category}",
        "platformWebDomain": f"{slug}.example",
        "ingestState": {
            "github": None,
            "website": {"status": "completed", "completedAt": iso(created + 2 * HOUR)},
            "appstore": None,
        },
        "requiresApproval": rng.random() < 0.3,
        "firstNPostsBlocked": 0,
        "currentBlockedCount": 0,
        "metadata": {"plan": _ch(rng, ["starter", "growth", "scale"]), "category": category},
        "createdAt": iso(created),
        "updatedAt": iso(updated),
    }
    p = Project(
        idx=idx, id=pid, org_id=org.id, n_creatives=n_creatives, row=row, archived_at=archived_at
    )
    p.media_titles[pid] = (name, text.COLOURS[idx % len(text.COLOURS)])
    return p


def empty_project(store: Store, body: dict, org_id: str) -> Project:
    """A project created through POST /v1/projects (no content yet)."""
    from .data import Project

    pid = "prj_" + store.new_uuid()
    now = iso(store.now)
    row = {
        "id": pid,
        "organizationId": org_id,
        "name": body["name"],
        "status": "active",
        "customerExternalId": body.get("customerExternalId"),
        "timezone": body["timezone"],
        "primaryLanguage": body.get("primaryLanguage") or "en",
        "ownerEmail": body.get("ownerEmail") or store.orgs[org_id].owner_email,
        "brand": None,
        "brandContext": None,
        "platformIosBundleId": None,
        "platformAndroidBundleId": None,
        "platformWebDomain": None,
        "ingestState": {"github": None, "website": None, "appstore": None},
        "requiresApproval": False,
        "firstNPostsBlocked": 0,
        "currentBlockedCount": 0,
        "metadata": body.get("metadata"),
        "createdAt": now,
        "updatedAt": now,
    }
    if body.get("appName") or body.get("appDescription"):
        row["brandContext"] = {
            "appName": body.get("appName"),
            "appDescription": body.get("appDescription"),
            "tagline": None,
            "audience": None,
            "icp": None,
            "brandVoice": None,
            "keywords": [],
            "primaryLanguage": row["primaryLanguage"],
            "logoUrl": None,
        }
    idx = len(store.projects)
    p = Project(
        idx=idx, id=pid, org_id=org_id, n_creatives=0, row=row, generated=False, materialized=True
    )
    p.media_titles[pid] = (body["name"], text.COLOURS[idx % len(text.COLOURS)])
    return p


# --------------------------------------------------------------------------- content
def _category(p: Project) -> str:
    return (p.row.get("metadata") or {}).get("category") or "fitness"


def _topic(rng: random.Random, category: str) -> str:
    return _ch(rng, text.TOPICS.get(category, text.TOPICS["fitness"]))


def _new_container(
    store: Store, p: Project, rng: random.Random, created: int, ctype: str, fmt: str, status: str
):
    from .data import Container

    cid = "cnt_" + uuid_from(rng)
    category = _category(p)
    topic = _topic(rng, category)
    hook = _ch(rng, text.HOOKS).format(topic=topic, Topic=text.cap(topic))
    caption = _ch(rng, text.CAPTIONS).format(topic=topic, Topic=text.cap(topic))
    if ctype == "uploaded":
        kind = "image" if fmt == "slideshow-builder" else "video"
        title = _ch(rng, text.UPLOAD_TITLES).format(topic=topic)
    else:
        kind = "slideshow" if fmt in ("slideshow-builder", "slideshow-remix") else "video"
        title = hook
    legacy = fmt in ("video-remix", "slideshow-remix") and store.start - created > 90 * DAY
    c = Container(
        id=cid,
        project_id=p.id,
        created=created,
        status=status,
        format=fmt,
        creative_type=ctype,
        caption=caption,
        hook=hook if ctype == "generated" else None,
        first_comment=_ch(rng, text.FIRST_COMMENTS),
        ads_enrollment="opted_out" if ctype == "uploaded" else "auto",
        approval="pending",
        kind=kind,
        slides=rng.randint(3, 6) if kind == "slideshow" else 1,
        aspect=None if legacy else _ch(rng, ASPECTS),
        duration_ms=rng.randrange(8_000, 45_000, 250) if kind == "video" else None,
        title=title[:80],
        colour=_ch(rng, text.COLOURS),
        media=store.media,
    )
    if status in ("queued", "processing"):
        c.approval = _ch(rng, ["pending", "not_required"])
    elif status == "completed":
        c.completed = created + _ri(rng, 2 * 60, 40 * 60)
        if ctype == "uploaded":
            c.completed = created
            c.approval = _ch(rng, ["not_required", "approved"])
        else:
            c.approval = _weighted(
                rng,
                (("approved", 0.5), ("pending", 0.2), ("not_required", 0.25), ("rejected", 0.05)),
            )
    elif status == "failed":
        c.failed = created + _ri(rng, 5 * 60, 3 * HOUR)
        code, msg = _ch(rng, text.FAIL_REASONS)
        c.last_error = {"code": code, "message": msg}
        c.approval = "not_required"
    else:  # canceled
        c.approval = "not_required"
    p.media_titles[cid] = (c.title, c.colour)
    return c


def _plan_inflight(c, rng: random.Random, now: int) -> None:
    """Give a queued/processing container the times at which it moves on."""
    if c.status == "queued":
        c.start_at = now + _ri(rng, 10 * 60, 3 * HOUR)
    else:
        c.start_at = min(now, c.created + _ri(rng, 60, 15 * 60))
    c.done_at = max(c.start_at, now) + _ri(rng, 15 * 60, 5 * HOUR)
    c.outcome = "failed" if rng.random() < 0.12 else "completed"
    if c.outcome == "failed":
        c.last_error = _ch(rng, text.FAIL_REASONS)


def materialize(store: Store, p: Project) -> None:
    """Generate the containers, ads-content rows and metrics series of a project."""
    rng = random.Random(sub_seed(store.seed, "content", p.idx))
    now = store.start
    n = p.n_creatives
    if n <= 0:
        return
    # createdAt spread over ~120 days; the few most recent are still in flight.
    times = sorted((now - _ri(rng, 30 * 60, 120 * DAY) for _ in range(n)), reverse=True)
    n_inflight = min(n, max(2, round(n * 0.01))) if n >= 4 else 0
    specs = []
    for i, t in enumerate(times):
        if i < n_inflight:
            t = now - _ri(rng, 5 * 60, 8 * HOUR)
            status = "queued" if i % 2 == 0 else "processing"
            specs.append([t, "generated", None, status])
            continue
        if rng.random() < 0.15:
            specs.append([t, "uploaded", None, "completed"])
        else:
            status = _weighted(rng, (("completed", 0.85), ("failed", 0.1), ("canceled", 0.05)))
            specs.append([t, "generated", None, status])
    # Coverage: every status, format and creativeType appears once there is room.
    if n >= 10:
        settled = list(range(n_inflight, n))
        forced = rng.sample(settled, 3)
        specs[forced[0]][1:] = ["generated", None, "failed"]
        specs[forced[1]][1:] = ["generated", None, "canceled"]
        specs[forced[2]][1:] = ["uploaded", None, "completed"]
    gen_idx = [i for i, s in enumerate(specs) if s[1] == "generated"]
    for i in gen_idx:
        specs[i][2] = _weighted(rng, GEN_FORMAT_WEIGHTS)
    if len(gen_idx) >= 4:
        for fmt, i in zip((f for f, _ in GEN_FORMAT_WEIGHTS), rng.sample(gen_idx, 4), strict=True):
            specs[i][2] = fmt
    for s in specs:
        if s[1] == "uploaded":
            s[2] = "slideshow-builder" if rng.random() < 0.6 else "video-remix"
    containers = []
    for t, ctype, fmt, status in specs:
        c = _new_container(store, p, rng, t, ctype, fmt, status)
        if status in ("queued", "processing"):
            _plan_inflight(c, rng, now)
        containers.append(c)
        p.add_container(c)
        store.container_index[c.id] = p

    # ads-content: manual uploads + scored generated containers + UGC posts == n rows.
    uploads = [c for c in containers if c.creative_type == "uploaded"]
    manual = uploads[: max(0, int(n * 0.2))]
    gen_done = [c for c in containers if c.creative_type == "generated" and c.status == "completed"]
    n_gen = min(len(gen_done), round(n * 0.6), n - len(manual))
    scored = set(id(c) for c in rng.sample(gen_done, n_gen)) if n_gen else set()
    for c in gen_done:
        if id(c) not in scored:
            c.ads_enrollment = "opted_out"
    n_ugc = n - len(manual) - n_gen
    sources = []
    for c in containers:  # newest first
        if id(c) in scored:
            sources.append(("content_container", c))
    for c in manual:
        c.ads_enrollment = "opted_in"
        sources.append(("manual", c))
    for _ in range(n_ugc):
        sources.append(("platform_post", None))
    rng.shuffle(sources)
    rows = []
    for source_type, c in sources:
        rows.append(_new_ads_row(store, p, rng, source_type, c, now))
    _preset_scores_and_overrides(store, p, rng, rows, now)
    for i in range(2 + n // 40 if n >= 5 else 0):
        _unmapped(store, p, rng, i, now)
    if store.dialect.unknown_enums:
        _unknown_enums(store, p, containers, rows)


# Values no page lists (dialect ``variant``): a client must store them as they come.
UNKNOWN_FORMAT = "carousel-builder"
UNKNOWN_ENROLLMENT = "paused"
UNKNOWN_POOL = "hybrid"
UNKNOWN_STATUS = "uploading"  # looks in flight, never moves


def _unknown_enums(store: Store, p: Project, containers, rows) -> None:
    """A few containers and rows get undocumented enum values. Its own RNG, so the rest of
    the data is the same as in the ``seed`` dialect."""
    rng = random.Random(sub_seed(store.seed, "unknown-enums", p.idx))
    n = len(containers)
    few = max(2, round(n * 0.03))
    sourced = {r.source_id for r in rows if r.source_id}
    slides = [c for c in containers if c.kind == "slideshow" and c.creative_type == "generated"]
    for c in rng.sample(slides, min(few, len(slides))):
        c.format = UNKNOWN_FORMAT
    scored = [c for c in containers if c.id in sourced and c.creative_type == "generated"]
    for c in rng.sample(scored, min(few, len(scored))):
        c.ads_enrollment = UNKNOWN_ENROLLMENT
    generated_rows = [r for r in rows if r.source_type == "content_container"]
    for r in rng.sample(generated_rows, min(few, len(generated_rows))):
        r.pool = UNKNOWN_POOL
    # ~1 % of containers in a status that looks in flight and stays put: completed
    # generated containers nobody scored (no ads-content row points at them).
    idle = [
        c
        for c in containers
        if c.status == "completed" and c.creative_type == "generated" and c.id not in sourced
    ]
    idle = idle or [c for c in containers if c.status in ("failed", "canceled")]
    for c in rng.sample(idle, min(max(1, round(n * 0.01)), len(idle))):
        c.status = UNKNOWN_STATUS
        c.completed = c.failed = c.last_error = None
        c.approval = "pending"
    for c in containers:
        c._row = None
    p.sorted_cache.clear()


def _score_generated(rng: random.Random, completed: int, now: int, promoted: bool) -> float:
    age = (now - completed) / DAY
    score = max(2.0, 7.0 - 5.0 * age / 30.0) + rng.uniform(-0.4, 0.4)
    if promoted:
        score += rng.uniform(0.5, 3.0)
    return round(min(10.0, max(2.0, score)), 1)


def _organic_series(
    p: Project, rng: random.Random, creative: str, platform: str, start_day: int, scale=1.0
):
    peak = rng.lognormvariate(7.6, 1.2) * scale  # median ~2,000 views on day one
    bump = None
    if rng.random() < 0.25:
        bump = (start_day + _ri(rng, 5, 80), peak * rng.uniform(0.3, 1.5), rng.uniform(0.7, 0.92))
    s = OrganicSeries(
        creative,
        platform,
        start_day,
        peak,
        rng.uniform(0.78, 0.97),
        _ri(rng, 1, 40),
        rng.uniform(0.015, 0.12),
        _ri(rng, 2500, 16000),
        bump,
        rng.getrandbits(32),
    )
    p.metrics.organic.append(s)
    return s


def _paid_series(
    store: Store, p: Project, rng: random.Random, creative: str, start_day: int, now: int
):
    today = now // DAY
    out = []
    for platform in rng.sample(AD_PLATFORMS, _ch(rng, (1, 1, 2))):
        begin = start_day + _ri(rng, 0, 10)
        if begin > today:
            begin = today
        end = begin + _ri(rng, 7, 70)
        s = PaidSeries(
            creative,
            platform,
            begin,
            end,
            _ri(rng, 500, 9000),  # daily spend, cents
            _ri(rng, 250, 2500),  # cost per acquisition, cents
            round(rng.uniform(0.6, 6.5), 2),
            rng.getrandbits(32),
            "cmp_" + uuid_from(rng),
            str(_ri(rng, 10**14, 10**15)),
        )
        p.metrics.paid.append(s)
        out.append(s)
    return out


def _new_ads_row(
    store: Store, p: Project, rng: random.Random, source_type: str, c, now: int, scored_at=None
):
    from .data import AdsRow

    ads_id = uuid_from(rng)
    today = now // DAY
    promoted = rng.random() < (0.1 if source_type == "platform_post" else 0.28)
    series = []
    if source_type == "platform_post":
        posted = now - _ri(rng, 6 * HOUR, 118 * DAY)
        pp_id = "pp_" + ulid_from(posted * 1000, rng.getrandbits(80))
        platform = _ch(rng, ORGANIC_PLATFORMS)
        series.append(
            _organic_series(p, rng, ads_id, platform, posted // DAY, scale=rng.uniform(0.5, 3.0))
        )
        handle = _ch(rng, text.CREATOR_HANDLES)
        topic = _topic(rng, _category(p))
        title = _ch(rng, text.UGC_TITLES).format(topic=topic, Handle="@" + handle)
        colour = _ch(rng, text.COLOURS)
        p.media_titles[pp_id] = (title, colour)
        thumb = f"{store.media}/{p.id}/{pp_id}/cover.svg"
        views = sum(s.lifetime_views() for s in series)
        if rng.random() < 0.06:
            views = _ri(rng, 5, 49)
        score = 0.0 if views < 50 else round(rng.triangular(1.0, 9.6, 4.5), 1)
        pool, source_id, start_day = "ugc", None, posted // DAY
    else:
        pp_id = None
        source_id = c.id
        title, thumb = c.title, c.thumbnail_url()
        start_day = (c.completed or c.created) // DAY
        pool = "generated" if source_type == "content_container" else "manual"
        if source_type == "content_container" and rng.random() < 0.9:
            for platform in rng.sample(ORGANIC_PLATFORMS, _ch(rng, (1, 1, 2, 2, 3))):
                series.append(_organic_series(p, rng, ads_id, platform, start_day + _ri(rng, 0, 2)))
        score = _score_generated(rng, c.completed or c.created, now, promoted)
        views = sum(s.lifetime_views() for s in series)
    paid = (
        _paid_series(store, p, rng, ads_id, start_day, now)
        if promoted and start_day <= today
        else []
    )
    org_perf = None
    if series:
        org_perf = {
            "views": views,
            "engagementRate": round(sum(s.er for s in series) / len(series), 4),
            "platforms": sorted(s.platform for s in series),
        }
    ad_perf = None
    if paid:
        spend = sum(s.spend_c * max(0, min(today, s.end_day) - s.start_day) for s in paid)
        conv = sum(s.spend_c * max(0, min(today, s.end_day) - s.start_day) // s.cpa_c for s in paid)
        ad_perf = {
            "spend": round(spend / 100, 2),
            "conversions": conv,
            "roas": round(sum(s.roas for s in paid) / len(paid), 2),
        }
    if scored_at is None:
        scored_at = now - _ri(rng, 10 * 60, 72 * HOUR)
        if c is not None and c.completed:
            scored_at = max(scored_at, c.completed)
    row = AdsRow(
        id=ads_id,
        project_id=p.id,
        source_type=source_type,
        source_id=source_id,
        pp_id=pp_id,
        pool=pool,
        score=score,
        scored_at=scored_at,
        version=3 if rng.random() < 0.8 else 2,
        title=title,
        thumb=thumb,
        org_perf=org_perf,
        ad_perf=ad_perf,
        promotions=paid,
        created=scored_at,
    )
    p.add_ads(row)
    return row


def _preset_scores_and_overrides(
    store: Store, p: Project, rng: random.Random, rows, now: int
) -> None:
    """Make sure the gate's edge cases exist: exact 4.0, include below, exclude above."""
    if len(rows) < 5:
        return
    actor = store.actor_key[p.org_id]
    free = [r for r in rows if r.score > 0]
    rng.shuffle(free)
    n = len(rows)
    n_exact = max(1, n // 25) if n >= 5 else 0
    for r in free[:n_exact]:
        r.score = 4.0
    rest = free[n_exact:]
    below = [r for r in rest if r.score < 4.0]
    above = [r for r in rest if r.score > 4.0]
    n_over = max(1, n // 14) if n >= 10 else 0
    picks = [(r, "include") for r in below[: (n_over + 1) // 2]] + [
        (r, "exclude") for r in above[: n_over // 2 + 1]
    ]
    if n >= 10 and rest:
        picks.append((rest[-1], _ch(rng, ("include", "exclude"))))
    for r, value in picks:
        if r.override is not None:
            continue
        note = _ch(
            rng, text.OVERRIDE_NOTES_INCLUDE if value == "include" else text.OVERRIDE_NOTES_EXCLUDE
        )
        at = now - _ri(rng, DAY, 60 * DAY)
        rid = store_request_id(store, rng, at)
        store.set_override(
            p, r, value, note, True, actor, rid, at=at, event_rand=rng.getrandbits(80)
        )


def store_request_id(store: Store, rng: random.Random, ts: int) -> str:
    return "req_" + ulid_from(ts * 1000, rng.getrandbits(80))


def _unmapped(store: Store, p: Project, rng: random.Random, i: int, now: int) -> None:
    from .data import Unmapped

    key = f"unmapped-{p.idx}-{i}"
    platform = _ch(rng, AD_PLATFORMS)
    title = f"{AD_NAMES[platform]} ad {_ri(rng, 1000, 9999)} (not linked)"
    p.unmapped[key] = Unmapped(key, title, f"{store.media}/{p.id}/{key}/cover.svg")
    p.media_titles[key] = (title, _ch(rng, text.COLOURS))
    start = now // DAY - _ri(rng, 3, 100)
    _paid_series(store, p, rng, key, start, now)


# --------------------------------------------------------------------------- advance
def advance_project(store: Store, p: Project, t0: int, t1: int, seq: int) -> dict:
    """Simulate ``t1 - t0`` seconds of the platform for one project.

    New containers appear (createdAt inside the interval), in-flight ones move on and
    completed ones get an ads-content row, some scores drift (scoredAt = when), and a
    teammate key of the same organization changes one override. Metrics accrue by
    themselves because they are a function of the clock. Archived projects stand still.
    """
    if p.archived or t1 <= t0:
        return {}
    rng = random.Random(sub_seed(store.seed, "advance", p.idx, seq))
    hours = (t1 - t0) / HOUR
    out = {
        "containersCreated": [],
        "containersCompleted": [],
        "containersFailed": [],
        "containersStarted": [],
        "adsContentCreated": [],
        "scoresChanged": [],
        "overridesChanged": [],
    }
    # 1. new containers, created inside (t0, t1]
    k = int(hours / 3)
    if rng.random() < hours / 3 - k:
        k += 1
    if hours >= 1:
        k = max(1, k)
    new = []
    for _ in range(k):
        created = t0 + _ri(rng, 1, t1 - t0 + 1)
        if rng.random() < 0.12:
            c = _new_container(
                store,
                p,
                rng,
                created,
                "uploaded",
                _ch(rng, ("slideshow-builder", "video-remix")),
                "completed",
            )
        else:
            c = _new_container(
                store, p, rng, created, "generated", _weighted(rng, GEN_FORMAT_WEIGHTS), "queued"
            )
            c.start_at = created + _ri(rng, 60, 20 * 60)
            c.done_at = c.start_at + _ri(rng, 5 * 60, 4 * HOUR)
            c.outcome = "failed" if rng.random() < 0.1 else "completed"
            if c.outcome == "failed":
                c.last_error = _ch(rng, text.FAIL_REASONS)
        p.add_container(c)
        store.container_index[c.id] = p
        new.append(c)
        out["containersCreated"].append(c.id)
    # 2. in-flight containers move on; newly completed generated ones get scored
    for c in list(p.containers.values()):
        changed = c.step_to(t1)
        if changed == "completed":
            out["containersCompleted"].append(c.id)
            if c.creative_type == "generated" and c.ads_enrollment == "auto":
                row = _new_ads_row(store, p, rng, "content_container", c, t1, scored_at=c.completed)
                row.score = 7.0
                row.touch()
                out["adsContentCreated"].append(row.id)
        elif changed == "failed":
            out["containersFailed"].append(c.id)
        elif changed == "processing":
            out["containersStarted"].append(c.id)
    # 3. score drift on some rows (rescore cadence: every 6 h)
    created_now = set(out["adsContentCreated"])
    candidates = [r for r in p.ads.values() if r.id not in created_now]
    prob = min(1.0, 0.025 * hours)
    drifted = [r for r in candidates if rng.random() < prob]
    if not drifted and candidates:
        drifted = [_ch(rng, candidates)]
    for r in drifted:
        if r.pool == "ugc":
            delta = rng.uniform(-0.8, 0.8)
            lo = 0.0
        else:
            delta = rng.uniform(-0.6, 0.25)
            lo = 2.0
        new_score = round(min(10.0, max(lo, r.score + delta)), 1)
        if new_score == r.score:
            new_score = round(min(10.0, max(lo, r.score + (0.1 if r.score < 9.9 else -0.1))), 1)
        r.score = new_score
        r.scored_at = t1 - _ri(rng, 0, min(HOUR, t1 - t0))
        if rng.random() < 0.05:
            r.version += 1
        if r.org_perf is not None:
            r.org_perf = dict(r.org_perf, views=r.org_perf["views"] + _ri(rng, 0, 5000))
        r.touch()
        out["scoresChanged"].append(r.id)
    p.sorted_cache.clear()
    # 4. another actor (a teammate key of the same org) changes one override
    rows = list(p.ads.values())
    if rows:
        r = _ch(rng, rows)
        if r.override is None:
            value = "include" if r.score < 4.0 else "exclude"
            note = _ch(
                rng,
                text.OVERRIDE_NOTES_INCLUDE if value == "include" else text.OVERRIDE_NOTES_EXCLUDE,
            )
        else:
            value, note = None, None
        at = t0 + _ri(rng, 1, t1 - t0 + 1)
        store.set_override(
            p,
            r,
            value,
            note,
            True,
            store.actor_key[p.org_id],
            store_request_id(store, rng, at),
            at=at,
        )
        out["overridesChanged"].append(r.id)
    for r in p.ads.values():
        if r.promotions:
            r.touch()
    return {k: v for k, v in out.items() if v}


# --------------------------------------------------------------------------- walk rescores
def rescore_ahead(store: Store, p: Project, sort: str, cursor: tuple, accept) -> AdsRow | None:
    """Rescore the next row a cursor walk would return so that it jumps ahead of the cursor.

    ``cursor`` is the decoded keyset ``(value, adsContentId)`` of an ads-content walk under
    ``sort``; ``accept(row)`` is the walk's filter. The first row after the cursor that the
    walk would list gets a new organicScore and ``scoredAt = now`` (a real, persistent
    rescore) whose sort key lies before the cursor, so the walk in progress never sees it.
    Returns the row, or None when no row can move ahead (e.g. the cursor sits at 10.0).
    """
    keys, rows = p.sorted_ads(sort)
    if sort == "score_asc":
        indices = range(bisect_right(keys, cursor), len(keys))
    else:
        indices = range(bisect_left(keys, cursor) - 1, -1, -1)
    target = next((rows[i] for i in indices if accept(rows[i])), None)
    if target is None:
        return None
    v = cursor[0]
    now = store.now
    if sort == "score_desc":
        score = round(min(10.0, v + 0.3), 1)
        ahead = (score, target.id) > cursor
    elif sort == "score_asc":
        score = round(max(0.0, v - 0.3), 1)
        ahead = (score, target.id) < cursor
    else:  # scored_at_desc
        score = round(target.score + 0.3 if target.score <= 9.7 else target.score - 0.3, 1)
        ahead = (now, target.id) > cursor
    if not ahead:
        return None
    target.score = score
    target.scored_at = now
    target.touch()
    p.sorted_cache.clear()
    return target
