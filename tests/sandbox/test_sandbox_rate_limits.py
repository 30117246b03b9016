"""Token buckets per key and endpoint class; headers on every /v1 response; 429 + recovery."""

from __future__ import annotations

import time

import pytest

from .conftest import Api, assert_error

HEADERS = (
    "X-RateLimit-Endpoint-Class",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
)


@pytest.fixture
def standard(sandbox_factory):
    return Api(sandbox_factory(tier="standard", projects=2, creatives_per_project=5))


def test_headers_on_every_response(standard):
    pid = standard.projects()[0]["id"]
    row = standard.ok("GET", f"/projects/{pid}/ads-content")["items"][0]
    cases = [
        (standard.get("/whoami"), "read-light", "120"),
        (standard.get("/projects/prj_nope"), "read-light", "120"),
        (standard.get("/whoami", key=None), "read-light", "120"),
        (
            standard.patch(
                f"/projects/{pid}/ads-content/{row['adsContentId']}", json={"override": "include"}
            ),
            "write-light",
            "60",
        ),
        (standard.delete("/projects/prj_nope"), "write-light", "60"),
        (
            standard.post("/projects", json={"name": "Rate Co", "timezone": "UTC"}),
            "write-light",
            "60",
        ),
    ]
    for r, cls, limit in cases:
        assert all(h in r.headers for h in HEADERS), r.headers
        assert r.headers["X-RateLimit-Endpoint-Class"] == cls
        assert r.headers["X-RateLimit-Limit"] == limit
        assert int(r.headers["X-RateLimit-Remaining"]) >= 0
        assert int(r.headers["X-RateLimit-Reset"]) >= 0


def test_remaining_counts_down_per_class(standard):
    a = int(standard.get("/whoami").headers["X-RateLimit-Remaining"])
    b = int(standard.get("/whoami").headers["X-RateLimit-Remaining"])
    assert b == a - 1
    w = standard.delete("/projects/prj_nope")
    assert int(w.headers["X-RateLimit-Remaining"]) == 59  # write bucket untouched by reads


def test_standard_read_bucket_429_then_recovery(standard):
    statuses = [standard.get("/whoami").status_code for _ in range(120)]
    assert statuses == [200] * 120
    r = standard.get("/whoami")
    err = assert_error(r, 429, "RATE_LIMITED")
    assert "read-light" in err["message"]
    assert r.headers["Retry-After"] == "1"
    assert r.headers["X-RateLimit-Remaining"] == "0"
    # other keys and other classes have their own buckets
    assert standard.get("/whoami", key="readonly").status_code == 200
    assert standard.delete("/projects/prj_nope").status_code == 404
    # control and media are never rate limited
    assert standard.control("GET", "/_sandbox/faults").status_code == 200
    time.sleep(int(r.headers["Retry-After"]))
    assert standard.get("/whoami").status_code == 200


def test_tiny_bucket_override(sandbox_factory):
    srv = sandbox_factory(
        tier="standard",
        projects=1,
        creatives_per_project=3,
        rate_limit_overrides={
            "read-light": {"capacity": 3, "refillPerSecond": 2.0},
            "write-light": 2,
        },
    )
    api = Api(srv)
    got = [api.get("/whoami") for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in got] == ["2", "1", "0"]
    assert got[0].headers["X-RateLimit-Limit"] == "3"
    r = api.get("/whoami")
    assert_error(r, 429, "RATE_LIMITED")
    assert r.headers["Retry-After"] == "1"
    assert int(r.headers["X-RateLimit-Reset"]) == 2  # 3 tokens at 2/s
    time.sleep(0.6)
    assert api.get("/whoami").status_code == 200
    w = [api.delete("/projects/prj_nope").status_code for _ in range(3)]
    assert w == [404, 404, 429]
    w429 = api.delete("/projects/prj_nope")
    assert w429.headers["Retry-After"] == "30"  # 2 rpm = one token every 30 s


def test_unlimited_tier_headers(api):
    r = api.get("/whoami")
    assert r.headers["X-RateLimit-Limit"] == "1000000"
    assert r.headers["X-RateLimit-Remaining"] == "1000000"
    assert r.headers["X-RateLimit-Reset"] == "0"
    assert all(api.get("/whoami").status_code == 200 for _ in range(200))


def test_tier_table(sandbox_factory):
    for tier, read, write in (("pilot", "1200", "600"), ("partner", "6000", "3000")):
        api = Api(sandbox_factory(tier=tier, projects=1, creatives_per_project=1))
        assert api.get("/whoami").headers["X-RateLimit-Limit"] == read
        assert api.delete("/projects/prj_nope").headers["X-RateLimit-Limit"] == write
