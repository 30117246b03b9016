"""Same seed, same data: byte-identical responses across servers (request ids aside)."""

from __future__ import annotations

import json

from .conftest import Api

CONFIG = {"seed": 4, "projects": 4, "creatives_per_project": 30}


def dump(api: Api, order=None) -> str:
    """Everything a client can read, as one normalized JSON string."""
    out = {"whoami": api.ok("GET", "/whoami")}
    projects = api.projects() + api.projects(status="archived")
    ids = [p["id"] for p in projects]
    if order:
        ids = [ids[i] for i in order] + [x for i, x in enumerate(ids) if i not in order]
    out["projects"] = projects
    for pid in ids:
        out[pid] = {
            "row": api.ok("GET", f"/projects/{pid}"),
            "content": api.walk(f"/projects/{pid}/content", {"limit": 11}),
            "ads": api.walk(f"/projects/{pid}/ads-content", {"limit": 13}),
            "tp": [
                api.ok(
                    "GET",
                    f"/projects/{pid}/top-performers",
                    params={"metric": m, "window": w, "includeIneligible": "true"},
                )
                for m in ("views", "roas", "watch_time_ms")
                for w in ("7d", "90d")
            ],
        }
        out[pid]["detail"] = [api.ok("GET", f"/content/{c['id']}") for c in out[pid]["content"][:5]]
    audit = api.walk("/audit-log", {"limit": 7})
    out["audit"] = [{k: v for k, v in e.items() if k != "requestId"} for e in audit]
    return json.dumps(out, sort_keys=True).replace(api.server.root_url, "ROOT")


def test_same_seed_identical_responses(sandbox_factory):
    a = Api(sandbox_factory(**CONFIG))
    b = Api(sandbox_factory(**CONFIG))
    assert a.server.port != b.server.port
    assert a.server.keys == b.server.keys
    assert dump(a) == dump(b)


def test_generation_order_does_not_matter(sandbox_factory):
    a = Api(sandbox_factory(**CONFIG))
    b = Api(sandbox_factory(**CONFIG))
    assert dump(a, order=[3, 1, 0, 2]) == dump(b, order=[0, 1, 2, 3])


def test_repeated_requests_are_identical(sandbox_factory):
    a = Api(sandbox_factory(**CONFIG))
    first = dump(a)
    assert dump(a) == first


def test_different_seed_different_data(sandbox_factory):
    a = Api(sandbox_factory(**CONFIG))
    b = Api(sandbox_factory(**{**CONFIG, "seed": 5}))
    assert dump(a) != dump(b)
    assert a.server.keys["main"] != b.server.keys["main"]


def test_same_history_same_state(sandbox_factory):
    servers = [Api(sandbox_factory(**CONFIG)) for _ in range(2)]
    for api in servers:
        pid = api.projects()[1]["id"]
        rows = api.walk(f"/projects/{pid}/ads-content")
        api.ok(
            "PATCH",
            f"/projects/{pid}/ads-content/{rows[3]['adsContentId']}",
            json={"override": "include", "note": "x"},
        )
        api.post("/projects", json={"name": "Same Co", "timezone": "Asia/Tokyo"})
        api.control("POST", "/_sandbox/advance?hours=6")
        api.control("POST", "/_sandbox/advance?hours=30")
    assert dump(servers[0]) == dump(servers[1])


def test_start_time_is_configurable(sandbox_factory):
    api = Api(sandbox_factory(projects=1, creatives_per_project=10, now="2025-03-01T08:00:00Z"))
    pid = api.projects()[0]["id"]
    newest = api.ok("GET", f"/projects/{pid}/content?limit=1")["items"][0]
    assert "2025-02-28" <= newest["createdAt"][:10] <= "2025-03-01"
    created = api.post("/projects", json={"name": "Clock Co", "timezone": "UTC"}).json()
    assert created["createdAt"] == "2025-03-01T08:00:00Z"
