"""Dialects (sandbox/dialects.py): ``seed`` serves the seeds' shapes exactly; ``variant`` takes
the other reasonable answer wherever the docs are silent or disagree. Also: every id form of an
object is accepted in paths (both dialects) and the walk-rescore control knob (both dialects).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
import requests

from sandbox.dialects import DIALECTS, SEED, VARIANT, Dialect, get_dialect
from sandbox.pytest_plugin import FIXTURE_DEFAULTS
from sandbox.server import SandboxServer

from .conftest import ISO_OFFSET, ISO_Z, SEED_001_FIELDS, UUID, Api, assert_error, norm

ROOT = Path(__file__).resolve().parents[2]
EXTRA = {"region", "_links"}
BUCKET = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
HTTP_DATE = re.compile(r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$")
UPPER_UUID = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
TIMESTAMP_KEYS = {
    "createdAt",
    "updatedAt",
    "completedAt",
    "failedAt",
    "scoredAt",
    "overrideSetAt",
    "startedAt",
    "occurredAt",
    "archivedAt",
}
DOCUMENTED = {
    "status": {"queued", "processing", "completed", "failed", "canceled"},
    "format": {"slideshow-builder", "ugc-remix", "video-remix", "slideshow-remix"},
    "adsEnrollment": {"auto", "opted_in", "opted_out"},
    "scoringPool": {"generated", "ugc", "manual"},
}

dialects = pytest.mark.parametrize("dialect", DIALECTS)


def make(sandbox_factory, dialect, **kw) -> Api:
    return Api(
        sandbox_factory(dialect=dialect, **{"projects": 2, "creatives_per_project": 20, **kw})
    )


def first_project(api: Api) -> str:
    return api.projects()[0]["id"]


def ads_path(pid: str) -> str:
    return f"/projects/{pid}/ads-content"


def tp_params(**params) -> dict:
    """top-performers params valid in both dialects (variant wants a paid source mix)."""
    return {"sourceType": ["content_container", "manual"], **params}


# ----------------------------------------------------------------------------- interface
def test_dialect_names_and_properties():
    assert DIALECTS == ("seed", "variant")
    assert FIXTURE_DEFAULTS["dialect"] == "seed"
    assert get_dialect("seed") is SEED and get_dialect("variant") is VARIANT
    assert dataclasses.is_dataclass(Dialect) and Dialect.__dataclass_params__.frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        SEED.bucket_headers = False  # type: ignore[misc]
    # every property differs between the two: variant is the other answer at every point
    same = [
        f.name
        for f in dataclasses.fields(Dialect)
        if getattr(SEED, f.name) == getattr(VARIANT, f.name)
    ]
    assert same == ["ads_patch_id"]  # both name the creative by its bare uuid in the echo


def test_unknown_dialect_is_a_value_error():
    with pytest.raises(ValueError, match="unknown dialect"):
        SandboxServer(dialect="legacy", port=0)
    with pytest.raises(ValueError):
        get_dialect("SEED")


def test_cli_unknown_dialect_exits_2():
    r = subprocess.run(
        [sys.executable, "-m", "sandbox", "--dialect", "legacy"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert r.returncode == 2 and "invalid choice" in r.stderr


def test_cli_serves_the_chosen_dialect():
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--projects", "1"]
        + ["--creatives-per-project", "5", "--dialect", "variant"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out = ""
        while "try:" not in out:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            out += line
        assert "dialect variant" in out
        root = re.search(r"control\s*:\s*(http://\S+?)/_sandbox/", out).group(1)
        assert requests.get(root + "/_sandbox/info", timeout=5).json()["dialect"] == "variant"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dialects
def test_info_reports_the_dialect(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect, projects=1, creatives_per_project=1)
    info = api.control("GET", "/_sandbox/info").json()
    assert info["dialect"] == dialect and info["dialects"] == list(DIALECTS)
    assert api.server.dialect.name == dialect


# ----------------------------------------------------------------------------- ads-content rows
@dialects
def test_ads_content_row_fields(sandbox_factory, dialect):
    """seed: exactly seed 001's fields (no title, no thumbnailUrl); variant adds unknown ones."""
    api = make(sandbox_factory, dialect)
    pid = first_project(api)
    rows = api.walk(ads_path(pid))
    want = SEED_001_FIELDS | (EXTRA if dialect == "variant" else set())
    assert rows and all(set(r) == want for r in rows)
    row = next(r for r in rows if r["override"] is None)
    got = api.ok("PATCH", f"{ads_path(pid)}/{row['adsContentId']}", json={"override": "include"})
    assert set(got) == want


@dialects
def test_ids_per_endpoint(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect)
    pid = first_project(api)
    rows = api.walk(ads_path(pid))
    containers = [r for r in rows if r["sourceType"] != "platform_post"]
    tp = api.ok(
        "GET",
        f"/projects/{pid}/top-performers",
        params=tp_params(metric="roas", includeIneligible="true", limit=100),
    )["items"]
    mapped = [i for i in tp if i["adsContentId"]]
    assert mapped and containers
    by_id = {norm(r["adsContentId"]): r for r in rows}
    if dialect == "seed":
        # seed 001: bare uuid adsContentId and bare sourceId; seed 000: adc_ and cnt_ forms
        assert all(UUID.match(r["adsContentId"]) for r in rows)
        assert all(UUID.match(r["sourceId"]) for r in containers)
        for i in mapped:
            assert i["adsContentId"].startswith("adc_") and UUID.match(i["adsContentId"][4:])
            assert i["sourceId"].startswith("cnt_") and UUID.match(i["sourceId"][4:])
    else:
        assert all(r["adsContentId"].startswith("adc_") for r in rows)
        assert all(UPPER_UUID.match(r["adsContentId"][4:]) for r in rows)
        assert all(r["sourceId"].startswith("cnt_") for r in containers)
        assert all(UUID.match(r["sourceId"][4:]) for r in containers)
        for i in mapped:
            assert UUID.match(i["adsContentId"]) and UPPER_UUID.match(i["sourceId"])
    for i in mapped:  # every form names the same creative and the same container
        listed = by_id[norm(i["adsContentId"])]
        assert norm(i["sourceId"], "cnt_") == norm(listed["sourceId"], "cnt_")
    # the PATCH answer names the creative by its bare lower-case uuid in both dialects
    row = containers[0]
    got = api.ok("PATCH", f"{ads_path(pid)}/{row['adsContentId']}", json={"override": "exclude"})
    assert got["adsContentId"] == norm(row["adsContentId"]) and UUID.match(got["adsContentId"])
    assert got["sourceId"] == row["sourceId"]
    relisted = next(r for r in api.walk(ads_path(pid)) if r["adsContentId"] == row["adsContentId"])
    assert {k: v for k, v in relisted.items() if k != "adsContentId"} == {
        k: v for k, v in got.items() if k != "adsContentId"
    }


@dialects
def test_project_id_forms(sandbox_factory, dialect):
    """List rows: prj_<uuid>. Single answers: prj_ in seed, the bare uuid in variant (C13)."""
    api = make(sandbox_factory, dialect, projects=3, creatives_per_project=2)
    listed = api.projects()
    assert all(p["id"].startswith("prj_") and UUID.match(p["id"][4:]) for p in listed)
    pid = listed[0]["id"]
    single = pid if dialect == "seed" else pid[4:]
    assert api.ok("GET", f"/projects/{pid}")["id"] == single
    assert api.ok("PATCH", f"/projects/{pid}", json={"name": "Renamed Co"})["id"] == single
    r = api.post("/projects", json={"name": "New Co", "timezone": "UTC"})
    created = r.json()
    assert r.status_code == 201 and r.headers["Location"] == f"/v1/projects/{created['id']}"
    assert created["id"].startswith("prj_") == (dialect == "seed")
    assert api.projects()[0]["id"] == "prj_" + norm(created["id"], "prj_")
    assert api.ok("DELETE", f"/projects/{pid}")["id"] == single
    # containers keep cnt_<uuid> in both dialects
    content = api.ok("GET", f"/projects/{listed[1]['id']}/content")["items"]
    assert all(c["id"].startswith("cnt_") and UUID.match(c["id"][4:]) for c in content)


@dialects
def test_paths_accept_every_id_form(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect)
    pid = first_project(api)
    uuid = norm(pid, "prj_")
    for form in (pid, uuid, uuid.upper(), "PRJ_" + uuid.upper(), "Prj_" + uuid):
        assert norm(api.ok("GET", f"/projects/{form}")["id"], "prj_") == uuid
        assert api.get(f"/projects/{form}/ads-content").status_code == 200
    cid = api.ok("GET", f"/projects/{pid}/content")["items"][0]["id"]
    cu = norm(cid, "cnt_")
    for form in (cid, cu, cu.upper(), "CNT_" + cu.upper()):
        assert api.ok("GET", f"/content/{form}")["id"] == cid
    row = api.ok("GET", ads_path(pid))["items"][0]
    au = norm(row["adsContentId"])
    forms = (row["adsContentId"], au, au.upper(), "adc_" + au, "ADC_" + au.upper(), "aDc_" + au)
    for n, form in enumerate(forms):
        note = f"form {n}"
        url = f"/projects/{uuid.upper()}/ads-content/{form}"
        got = api.ok("PATCH", url, json={"override": "include", "note": note})
        assert norm(got["adsContentId"]) == au and got["overrideNote"] == note
    assert_error(api.patch(f"{ads_path(pid)}/cnt_{au}", json={"override": None}), 404, "NOT_FOUND")
    # the test helpers accept the listed forms too
    api.server.store.set_daily_metrics(pid, row["adsContentId"], "tiktok", "2026-10-31", views=1)


# ----------------------------------------------------------------------------- rate limits
@dialects
def test_rate_headers(sandbox_factory, dialect):
    api = make(
        sandbox_factory,
        dialect,
        tier="standard",
        rate_limit_overrides={"read-light": {"capacity": 2, "refillPerSecond": 0.01}},
    )
    responses = [api.get("/whoami"), api.get("/projects/prj_nope"), api.get("/whoami", key=None)]
    throttled = api.get("/whoami")  # rate limiting works in both dialects
    assert [r.status_code for r in responses] == [200, 404, 401] and throttled.status_code == 429
    api.control("POST", "/_sandbox/faults", json={"next": ["503"]})
    faulted = api.delete("/projects/prj_nope")
    assert faulted.status_code == 503
    for r in [*responses, throttled, faulted]:
        assert r.headers["X-RateLimit-Endpoint-Class"] in ("read-light", "write-light")
        if dialect == "seed":
            assert all(h in r.headers for h in BUCKET), r.headers
        else:
            assert not any(h in r.headers for h in BUCKET), r.headers


def _retry_after_seconds(r, dialect, t0: float) -> float:
    value = r.headers["Retry-After"]
    if dialect == "seed":
        assert value.isdigit()
        return int(value)
    assert HTTP_DATE.match(value), value
    return parsedate_to_datetime(value).timestamp() - t0


@dialects
def test_retry_after_on_throttling(sandbox_factory, dialect):
    """seed: whole seconds; variant: an HTTP date, rounded up, never before the bucket refills."""
    refill = 2.0  # one token every 0.5 s
    api = make(
        sandbox_factory,
        dialect,
        tier="standard",
        rate_limit_overrides={"read-light": {"capacity": 1, "refillPerSecond": refill}},
    )
    t0 = time.time()
    assert api.get("/whoami").status_code == 200
    r = api.get("/whoami")
    assert_error(r, 429, "RATE_LIMITED")
    wait = _retry_after_seconds(r, dialect, t0)
    assert wait >= 1 / refill  # at least the needed wait
    assert wait <= 2.5
    time.sleep(max(0.0, t0 + wait - time.time()))
    assert api.get("/whoami").status_code == 200  # honouring it is enough


@dialects
@pytest.mark.parametrize("kind", ["429", "503"])
def test_retry_after_on_injected_faults(sandbox_factory, dialect, kind):
    api = make(sandbox_factory, dialect, projects=1, creatives_per_project=1)
    api.control("POST", "/_sandbox/faults", json={"next": [kind]})
    t0 = time.time()
    r = api.get("/whoami")
    assert r.status_code == int(kind)
    wait = _retry_after_seconds(r, dialect, t0)
    assert 1 <= wait <= 2.5 if dialect == "variant" else wait == 1


@dialects
def test_whoami_tier_name(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect, tier="pilot", projects=1, creatives_per_project=1)
    tier = api.ok("GET", "/whoami")["rateLimitTier"]
    assert tier == ("pilot" if dialect == "seed" else "scale")  # "scale": no page lists it


# ----------------------------------------------------------------------------- timestamps
def _timestamps(obj, out: list[str]) -> list[str]:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "metadata":
                continue
            if k in TIMESTAMP_KEYS and isinstance(v, str):
                out.append(v)
            else:
                _timestamps(v, out)
    elif isinstance(obj, list):
        for x in obj:
            _timestamps(x, out)
    return out


@dialects
def test_timestamp_form_everywhere(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect, projects=4, creatives_per_project=40)
    pid = first_project(api)
    row = next(r for r in api.walk(ads_path(pid)) if r["activePromotions"])
    bodies = [
        api.ok("GET", "/projects"),
        api.ok("GET", f"/projects/{pid}"),
        api.ok("GET", f"/projects/{pid}/content", params={"limit": 30}),
        api.ok("GET", ads_path(pid)),
        api.ok("PATCH", f"{ads_path(pid)}/{row['adsContentId']}", json={"override": "exclude"}),
        api.ok("GET", "/audit-log"),
        api.ok("POST", "/projects", json={"name": "Stamp Co", "timezone": "UTC"}),
        api.ok("DELETE", f"/projects/{pid}"),
    ]
    failed = next(c for c in api.walk(f"/projects/{pid}/content") if c["status"] == "failed")
    bodies.append(api.ok("GET", f"/content/{failed['id']}"))
    stamps = _timestamps(bodies, [])
    keys_seen = set()
    for b in bodies:
        keys_seen |= {k for k in TIMESTAMP_KEYS if k in str(b)}
    assert keys_seen == TIMESTAMP_KEYS and len(stamps) > 100
    pattern = ISO_Z if dialect == "seed" else ISO_OFFSET
    assert all(pattern.match(s) for s in stamps), [s for s in stamps if not pattern.match(s)][:3]
    # the caller's metadata is returned unchanged, timestamp-looking values included
    meta = {"createdAt": "2026-01-01T00:00:00Z", "plan": "x"}
    got = api.ok("PATCH", f"/projects/{pid}", json={"metadata": meta})["metadata"]
    assert {k: got[k] for k in meta} == meta


# ----------------------------------------------------------------------------- extras, enums
@dialects
def test_unknown_fields_on_objects(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect)
    pid = first_project(api)
    objects = {
        "project (list)": api.projects()[0],
        "project": api.ok("GET", f"/projects/{pid}"),
        "container": api.ok("GET", f"/projects/{pid}/content")["items"][0],
        "container (detail)": api.ok(
            "GET", f"/content/{api.ok('GET', f'/projects/{pid}/content')['items'][0]['id']}"
        ),
        "ads-content row": api.ok("GET", ads_path(pid))["items"][0],
        "top performer": api.ok(
            "GET", f"/projects/{pid}/top-performers", params={"metric": "views"}
        )["items"][0],
    }
    for name, obj in objects.items():
        if dialect == "seed":
            assert not EXTRA & set(obj), name
        else:
            assert obj["region"] == "eu-west", name
            assert obj["_links"] and all(set(v) == {"href"} for v in obj["_links"].values()), name


@dialects
def test_unknown_enum_values(sandbox_factory, dialect):
    n = 80
    api = make(sandbox_factory, dialect, creatives_per_project=n)
    pid = first_project(api)
    content = api.walk(f"/projects/{pid}/content", {"limit": 200})
    ads = api.walk(ads_path(pid), {"limit": 100})
    seen = {
        "status": [c["status"] for c in content],
        "format": [c["format"] for c in content],
        "adsEnrollment": [c["adsEnrollment"] for c in content],
        "scoringPool": [r["scoringPool"] for r in ads],
    }
    if dialect == "seed":
        assert all(set(v) <= DOCUMENTED[k] for k, v in seen.items())
        return
    unknown = {"status": "uploading", "format": "carousel-builder"}
    unknown |= {"adsEnrollment": "paused", "scoringPool": "hybrid"}
    for field, value in unknown.items():
        assert set(seen[field]) - DOCUMENTED[field] == {value}
        assert 1 <= seen[field].count(value) <= 5  # a few rows each
    uploading = [c["id"] for c in content if c["status"] == "uploading"]
    assert len(uploading) == round(n * 0.01)  # ~1 %
    # an unknown status that looks in flight stays put while the world moves on
    api.control("POST", "/_sandbox/advance?hours=48")
    for cid in uploading:
        c = api.ok("GET", f"/content/{cid}")
        assert c["status"] == "uploading" and c["preview"] is None
    # the generated data is otherwise the seed dialect's
    plain = make(sandbox_factory, "seed", creatives_per_project=n)
    assert [c["id"] for c in content] == [c["id"] for c in plain.walk(f"/projects/{pid}/content")]


# ----------------------------------------------------------------------------- pages
LISTS = ["/projects", "/projects/{pid}/content", "/projects/{pid}/ads-content", "/audit-log"]


@dialects
@pytest.mark.parametrize("path", LISTS)
def test_end_of_list_cursor(sandbox_factory, dialect, path):
    api = make(sandbox_factory, dialect, projects=3, creatives_per_project=20)
    path = path.format(pid=first_project(api))
    body, pages = api.ok("GET", path, params={"limit": 2}), 1
    while body.get("nextCursor"):
        assert set(body) == {"items", "nextCursor"} and len(body["items"]) == 2
        body = api.ok("GET", path, params={"limit": 2, "cursor": body["nextCursor"]})
        pages += 1
    assert pages > 1
    if dialect == "seed":
        assert set(body) == {"items", "nextCursor"} and body["nextCursor"] is None
    else:
        assert set(body) == {"items"}  # absent, not null


@dialects
@pytest.mark.parametrize("path", LISTS)
def test_page_size(sandbox_factory, dialect, path):
    """variant: at most 37 items per page whatever the limit, with a cursor when more follow."""
    api = make(sandbox_factory, dialect, projects=42, creatives_per_project=40)
    path = path.format(pid=first_project(api))
    limit = 100 if "ads-content" in path else 200
    everything = api.walk(path, {"limit": limit})
    assert len(everything) > 37
    first = api.ok("GET", path, params={"limit": limit})
    if dialect == "seed":
        assert first["items"] == everything and first["nextCursor"] is None
    else:
        assert len(first["items"]) == 37 and first["nextCursor"]
        assert first["items"] == everything[:37]
        assert len(api.ok("GET", path, params={"limit": 5})["items"]) == 5


# ----------------------------------------------------------------------------- customerExternalId
def _cext(row: dict, dialect: str):
    if dialect == "seed":
        assert "partner" not in (row.get("metadata") or {})
        return row["customerExternalId"]
    assert "customerExternalId" not in row
    return row["metadata"]["partner"]["customerExternalId"]


@dialects
def test_customer_external_id_location(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect, projects=3, creatives_per_project=1)
    listed = api.projects()
    assert all(isinstance(_cext(p, dialect), str) for p in listed)
    target = listed[1]
    assert _cext(api.ok("GET", f"/projects/{target['id']}"), dialect) == _cext(target, dialect)
    found = api.projects(customerExternalId=_cext(target, dialect))
    assert [p["id"] for p in found] == [target["id"]]  # the lookup works in both
    # POST and PATCH accept the top-level field in both dialects
    body = {"name": "Acme Fitness", "customerExternalId": "acme-prod-987", "timezone": "UTC"}
    created = api.ok("POST", "/projects", json=body)
    assert _cext(created, dialect) == "acme-prod-987"
    assert [norm(p["id"], "prj_") for p in api.projects(customerExternalId="acme-prod-987")] == [
        norm(created["id"], "prj_")
    ]
    patched = api.ok("PATCH", f"/projects/{created['id']}", json={"customerExternalId": "acme-2"})
    assert _cext(patched, dialect) == "acme-2"
    assert _cext(api.ok("GET", f"/projects/{created['id']}"), dialect) == "acme-2"


def test_variant_reads_and_writes_metadata_partner(sandbox_factory):
    api = make(sandbox_factory, "variant", projects=1, creatives_per_project=1)
    body = {
        "name": "Meta Co",
        "timezone": "UTC",
        "metadata": {"plan": "gold", "partner": {"customerExternalId": "meta-1", "crm": "x"}},
    }
    created = api.ok("POST", "/projects", json=body)
    assert created["metadata"] == body["metadata"]
    assert [p["name"] for p in api.projects(customerExternalId="meta-1")] == ["Meta Co"]
    # a GET -> edit -> PATCH round trip of metadata keeps the id where it was written
    meta = dict(created["metadata"], plan="silver")
    row = api.ok("PATCH", f"/projects/{created['id']}", json={"metadata": meta})
    assert row["metadata"] == meta
    # metadata is replaced whole; the customerExternalId stays unless it is written
    row = api.ok("PATCH", f"/projects/{created['id']}", json={"metadata": {"plan": "x"}})
    assert row["metadata"] == {"plan": "x", "partner": {"customerExternalId": "meta-1"}}
    r = api.patch(f"/projects/{created['id']}", json={"metadata": {"partner": "nope"}})
    assert assert_error(r, 422, "VALIDATION")["details"]["issues"][0]["path"] == ["metadata"]


# ----------------------------------------------------------------------------- top-performers
PAID_MIXES = [
    (None, {"seed": 200, "variant": 422}),
    (["platform_post"], {"seed": 422, "variant": 422}),
    (["platform_post", "manual"], {"seed": 200, "variant": 422}),
    (["content_container"], {"seed": 200, "variant": 200}),
    (["content_container", "manual"], {"seed": 200, "variant": 200}),
    (["manual"], {"seed": 200, "variant": 200}),
]


@dialects
@pytest.mark.parametrize("metric", ["roas", "conversions"])
def test_paid_metric_source_mix(sandbox_factory, dialect, metric):
    api = make(sandbox_factory, dialect, projects=1, creatives_per_project=20)
    pid = first_project(api)
    for sources, want in PAID_MIXES:
        params = {"metric": metric} | ({"sourceType": sources} if sources else {})
        r = api.get(f"/projects/{pid}/top-performers", params=params)
        assert r.status_code == want[dialect], (sources, r.text)
        if r.status_code == 422:
            err = assert_error(r, 422, "VALIDATION")
            assert err["message"] == (
                f"metric={metric} requires paid data. Filter sourceType to content_container "
                "or manual, or pick an organic metric."
            )
            assert err["details"]["issues"][0]["path"] == ["sourceType"]
    # organic metrics never need a source mix
    assert api.get(f"/projects/{pid}/top-performers", params={"metric": "views"}).ok


# ----------------------------------------------------------------------------- validation
@dialects
def test_patch_body_validation_status(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect)
    pid = first_project(api)
    status = 400 if dialect == "seed" else 422
    row = api.ok("GET", ads_path(pid))["items"][0]
    url = f"{ads_path(pid)}/{row['adsContentId']}"
    for kwargs in ({"json": {}}, {"data": "{nope"}, {"json": {"override": "maybe"}}):
        err = assert_error(api.patch(url, **kwargs), status, "VALIDATION")
        assert err["message"].startswith("Invalid patch body")
    for kwargs in ({"json": {"id": "prj_x"}}, {"json": {}}, {"data": ""}):
        assert_error(api.patch(f"/projects/{pid}", **kwargs), status, "VALIDATION")
    # POST /projects body errors are 422 in both
    assert_error(api.post("/projects", json={"name": "x"}), 422, "VALIDATION")


REFERENCE_ONLY = [
    ("/projects", {"status": "archived"}, "status"),
    ("/projects", {"status": "active"}, "status"),
    ("/projects/{pid}/ads-content", {"limit": "101"}, "limit"),
    ("/projects/{pid}/ads-content", {"limit": "200"}, "limit"),
    ("/projects/{pid}/ads-content", {"sort": "score_desc"}, "sort"),
    ("/projects/{pid}/ads-content", {"sort": "scored_at_desc"}, "sort"),
    ("/audit-log", {"eventType": "creative_override"}, "eventType"),
    ("/audit-log", {"projectId": "{pid}"}, "projectId"),
    ("/audit-log", {"apiKeyId": "key_x"}, "apiKeyId"),
    ("/audit-log", {"since": "2026-01-01T00:00:00Z"}, "since"),
    ("/audit-log", {"until": "2026-12-01T00:00:00Z"}, "until"),
]


@dialects
@pytest.mark.parametrize(("path", "params", "name"), REFERENCE_ONLY)
def test_reference_only_parameters(sandbox_factory, dialect, path, params, name):
    api = make(sandbox_factory, dialect, projects=1, creatives_per_project=5)
    pid = first_project(api)
    path = path.format(pid=pid)
    params = {k: v.format(pid=pid) for k, v in params.items()}
    r = api.get(path, params=params)
    if dialect == "seed":
        assert r.status_code == 200, r.text
    else:
        err = assert_error(r, 422, "VALIDATION")
        assert err["details"]["issues"][0]["path"] == [name]


@dialects
def test_archived_projects_only_by_id_in_variant(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect, projects=6, creatives_per_project=2)
    active = api.projects()
    assert len(active) == 5 and all(p["status"] == "active" for p in active)  # default: active
    store = api.server.store
    [pid] = [p.id for p in store.projects.values() if p.org_id == store.org1.id and p.archived]
    assert pid not in {p["id"] for p in active}
    assert api.ok("GET", f"/projects/{pid}")["status"] == "archived"
    assert api.get("/projects", params={"status": "archived"}).status_code == (
        200 if dialect == "seed" else 422
    )
    # what both accept: ads-content limit up to 100, and no sort (the default order)
    assert api.get(ads_path(active[0]["id"]), params={"limit": "100"}).status_code == 200


# ----------------------------------------------------------------------------- idempotency
@dialects
def test_replay_marker(sandbox_factory, dialect):
    api = make(sandbox_factory, dialect, projects=1, creatives_per_project=1)
    h = {"Idempotency-Key": "replay-1"}
    body = {"name": "Replay Co", "timezone": "UTC"}
    first = api.post("/projects", json=body, headers=h)
    again = api.post("/projects", json=body, headers=h)
    assert first.status_code == again.status_code == 201 and again.content == first.content
    assert "Idempotent-Replayed" not in first.headers
    if dialect == "seed":
        assert again.headers["Idempotent-Replayed"] == "true"
    else:
        assert "Idempotent-Replayed" not in again.headers


# ----------------------------------------------------------------------------- walk rescores
def _faults(api: Api) -> dict:
    return api.control("GET", "/_sandbox/faults").json()


WALKS = [
    ("seed", {}),
    ("seed", {"sort": "score_asc"}),
    ("seed", {"sort": "scored_at_desc"}),
    ("seed", {"scoringPool": "ugc"}),
    ("variant", {}),
    ("variant", {"eligible": "true"}),
]


@pytest.mark.parametrize(("dialect", "params"), WALKS)
def test_walk_rescores_skip_a_row(sandbox_factory, dialect, params):
    api = make(sandbox_factory, dialect, creatives_per_project=80)
    pid = first_project(api)
    params = {"limit": 6, **params}
    before = api.walk(ads_path(pid), params)
    assert len(before) > 14
    r = api.control("POST", "/_sandbox/faults", json={"walkRescores": 2})
    assert r.json()["walkRescores"] == 2 and _faults(api)["walkRescores"] == 2
    page1 = api.ok("GET", ads_path(pid), params=params)
    assert _faults(api)["walkRescores"] == 2  # no cursor, no rescore
    page2 = api.ok("GET", ads_path(pid), params={**params, "cursor": page1["nextCursor"]})
    assert _faults(api)["walkRescores"] == 1
    rest = api.walk(ads_path(pid), {**params, "cursor": page2["nextCursor"]})
    assert _faults(api)["walkRescores"] == 0
    walked = [x["adsContentId"] for x in page1["items"] + page2["items"] + rest]
    ids = [x["adsContentId"] for x in before]
    # each rescore took the row the next page would have started with
    assert walked == [i for i in ids if i not in (ids[6], ids[13])]
    assert ids[12] == page2["items"][-1]["adsContentId"]
    after = {x["adsContentId"]: x for x in api.walk(ads_path(pid), {**params, "limit": 100})}
    old = {x["adsContentId"]: x for x in before}
    now = "2026-11-01T12:00:00Z" if dialect == "seed" else "2026-11-01T12:00:00.000000+00:00"
    for skipped, cursor_row in ((ids[6], ids[5]), (ids[13], ids[12])):
        assert after[skipped]["scoredAt"] == now != old[skipped]["scoredAt"]  # a real rescore
        assert after[skipped]["organicScore"] != old[skipped]["organicScore"]
        order = list(after)
        assert order.index(skipped) < order.index(cursor_row)  # now ahead of that cursor
    # persistent: a later walk still sees the new scores; untouched rows did not move
    assert set(after) == set(ids)
    assert all(after[i] == old[i] for i in ids if i not in (ids[6], ids[13]))


def test_walk_rescores_are_deterministic_and_reset(sandbox_factory):
    runs = []
    for _ in range(2):
        api = Api(sandbox_factory(projects=2, creatives_per_project=80, walk_rescores=3))
        assert _faults(api)["walkRescores"] == 3
        pid = first_project(api)
        runs.append(api.walk(ads_path(pid), {"limit": 7}))
    assert runs[0] == runs[1] and len(runs[0]) == 80 - 3
    api.control("POST", "/_sandbox/faults", json={"walkRescores": 4})
    assert api.control("POST", "/_sandbox/reset").status_code == 200
    assert _faults(api)["walkRescores"] == 0
    for bad in (-1, "two", True, 1.5):
        r = api.control("POST", "/_sandbox/faults", json={"walkRescores": bad})
        assert r.status_code == 400


def test_variant_is_deterministic(sandbox_factory):
    def dump(api: Api) -> list:
        pid = first_project(api)
        return [
            api.projects(),
            api.ok("GET", f"/projects/{pid}"),
            api.walk(f"/projects/{pid}/content", {"limit": 200}),
            api.walk(ads_path(pid), {"limit": 100}),
            api.ok("GET", f"/projects/{pid}/top-performers", params={"metric": "views"}),
            [{k: v for k, v in e.items() if k != "requestId"} for e in api.walk("/audit-log")],
        ]

    a, b = (make(sandbox_factory, "variant", creatives_per_project=60) for _ in range(2))
    assert str(dump(a)).replace(a.server.root_url, "ROOT") == str(dump(b)).replace(
        b.server.root_url, "ROOT"
    )
