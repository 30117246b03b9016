"""Content list (seed 002), GET /content/{id}, previews and the served media."""

from __future__ import annotations

import base64
import json

import pytest

from .conftest import ISO_Z, UUID, Api, assert_error

ROW_FIELDS = {
    "id",
    "projectId",
    "status",
    "format",
    "caption",
    "creativeType",
    "adsEnrollment",
    "approvalStatus",
    "createdAt",
    "completedAt",
    "preview",
    "primaryAsset",
}
PREVIEW_FIELDS = {
    "kind",
    "primaryUrl",
    "thumbnailUrl",
    "imageUrls",
    "videoUrl",
    "hlsUrl",
    "durationMs",
    "aspectRatio",
}
STATUSES = {"queued", "processing", "completed", "failed", "canceled"}
FORMATS = {"slideshow-builder", "ugc-remix", "video-remix", "slideshow-remix"}


@pytest.fixture
def big(sandbox_factory):
    return Api(sandbox_factory(projects=1, creatives_per_project=120))


@pytest.fixture
def rows(big):
    pid = big.projects()[0]["id"]
    return pid, big.walk(f"/projects/{pid}/content", {"limit": 200})


def _order(items):
    return [(r["createdAt"], r["id"]) for r in items]


def test_every_row_and_the_documented_order(big, rows, sandbox_factory):
    pid, items = rows
    assert len(items) == 120
    assert len({r["id"] for r in items}) == 120
    assert _order(items) == sorted(_order(items), reverse=True)  # createdAt desc, id desc
    assert all(set(r) == ROW_FIELDS for r in items)
    assert all(r["projectId"] == pid for r in items)
    assert all(r["id"].startswith("cnt_") and UUID.match(r["id"][4:]) for r in items)
    assert {r["status"] for r in items} == STATUSES
    assert {r["format"] for r in items} == FORMATS
    assert {r["creativeType"] for r in items} == {"generated", "uploaded"}
    days = {r["createdAt"][:10] for r in items}
    assert len(days) > 40  # spread over ~120 days
    assert min(r["createdAt"] for r in items) < "2026-07-20"


def test_default_limit_is_25_and_200_is_max(big, rows):
    pid, _ = rows
    assert len(big.ok("GET", f"/projects/{pid}/content")["items"]) == 25
    assert len(big.ok("GET", f"/projects/{pid}/content?limit=200")["items"]) == 120


@pytest.mark.parametrize("limit", [1, 7, 25, 119, 120])
def test_pagination_walk_exactly_once(big, rows, limit):
    pid, items = rows
    walked = big.walk(f"/projects/{pid}/content", {"limit": limit})
    assert [r["id"] for r in walked] == [r["id"] for r in items]


def test_pagination_walk_with_filters(big, rows):
    pid, items = rows
    expected = [r["id"] for r in items if r["status"] in ("completed", "failed")]
    walked = big.walk(f"/projects/{pid}/content", {"status": ["completed", "failed"], "limit": 6})
    assert [r["id"] for r in walked] == expected


def test_cursor_encodes_the_createdat_keyset(big, rows):
    pid, items = rows
    cursor = big.ok("GET", f"/projects/{pid}/content?limit=3")["nextCursor"]
    decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert decoded == {"createdAt": items[2]["createdAt"], "id": items[2]["id"]}


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_status_filter(big, rows, status):
    pid, items = rows
    got = big.walk(f"/projects/{pid}/content", {"status": status, "limit": 200})
    assert [r["id"] for r in got] == [r["id"] for r in items if r["status"] == status]
    assert got


def test_status_repeatable(big, rows):
    pid, items = rows
    got = big.walk(f"/projects/{pid}/content", {"status": ["queued", "processing"]})
    assert [r["id"] for r in got] == [
        r["id"] for r in items if r["status"] in ("queued", "processing")
    ]
    assert {r["status"] for r in got} == {"queued", "processing"}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_format_filter(big, rows, fmt):
    pid, items = rows
    got = big.walk(f"/projects/{pid}/content", {"format": fmt, "limit": 200})
    assert got and [r["id"] for r in got] == [r["id"] for r in items if r["format"] == fmt]


def test_format_repeatable_and_combined(big, rows):
    pid, items = rows
    params = {"format": ["slideshow-builder", "ugc-remix"], "status": "completed"}
    got = big.walk(f"/projects/{pid}/content", params)
    assert [r["id"] for r in got] == [
        r["id"]
        for r in items
        if r["format"] in ("slideshow-builder", "ugc-remix") and r["status"] == "completed"
    ]


@pytest.mark.parametrize("ctype", ["generated", "uploaded"])
def test_creative_type_filter(big, rows, ctype):
    pid, items = rows
    got = big.walk(f"/projects/{pid}/content", {"creativeType": ctype, "limit": 200})
    assert got and [r["id"] for r in got] == [r["id"] for r in items if r["creativeType"] == ctype]


def test_uploads_only_common_filter(big, rows):
    pid, items = rows
    got = big.walk(f"/projects/{pid}/content", {"creativeType": "uploaded", "status": "completed"})
    assert got and all(r["creativeType"] == "uploaded" and r["status"] == "completed" for r in got)
    assert all(r["adsEnrollment"] in ("opted_in", "opted_out") for r in got)


def test_since_until_are_inclusive(big, rows):
    pid, items = rows
    lo, hi = items[30]["createdAt"], items[10]["createdAt"]
    got = big.walk(f"/projects/{pid}/content", {"since": lo, "until": hi, "limit": 7})
    assert [r["id"] for r in got] == [r["id"] for r in items if lo <= r["createdAt"] <= hi]
    assert got[0]["createdAt"] == hi and got[-1]["createdAt"] == lo
    exact = big.walk(f"/projects/{pid}/content", {"since": hi, "until": hi})
    assert items[10]["id"] in {r["id"] for r in exact}
    only_since = big.walk(f"/projects/{pid}/content", {"since": lo, "limit": 200})
    assert [r["id"] for r in only_since] == [r["id"] for r in items if r["createdAt"] >= lo]


def test_since_accepts_offsets_and_fractions(big, rows):
    pid, items = rows
    lo = items[5]["createdAt"]
    with_offset = lo.replace("Z", ".000+00:00")
    a = big.walk(f"/projects/{pid}/content", {"since": lo})
    b = big.walk(f"/projects/{pid}/content", {"since": with_offset})
    assert a == b and len(a) == 6


@pytest.mark.parametrize(
    "params",
    [
        {"status": "generating"},  # the [A] name is not accepted
        {"status": ["completed", "done"]},
        {"format": "video_remix"},  # [A] underscore format names are not accepted
        {"creativeType": "ugc"},
        {"limit": "201"},
        {"limit": "0"},
        {"limit": "ten"},
        {"since": "yesterday"},
        {"until": "2026-13-45T00:00:00Z"},
        {"since": "2026-10-02T00:00:00Z", "until": "2026-10-01T00:00:00Z"},
        {"cursor": "not-a-cursor"},
        {"cursor": "eyJ4IjoxfQ"},
    ],
)
def test_validation_errors(big, rows, params):
    pid, _ = rows
    assert_error(big.get(f"/projects/{pid}/content", params=params), 422, "VALIDATION")


def test_unknown_project_is_404(big):
    assert_error(big.get("/projects/prj_nope/content"), 404, "NOT_FOUND")


def test_preview_object_rules(big, rows, sandbox_factory):
    _, items = rows
    root = big.server.root_url + "/media/"
    for r in items:
        p = r["preview"]
        if r["status"] != "completed":
            assert p is None and r["primaryAsset"] is None and r["completedAt"] is None
            continue
        assert set(p) == PREVIEW_FIELDS
        assert ISO_Z.match(r["completedAt"]) and r["completedAt"] >= r["createdAt"]
        assert p["primaryUrl"].startswith(root) and p["thumbnailUrl"].startswith(root)
        assert p["hlsUrl"] is None
        assert p["aspectRatio"] in (None, "9:16", "4:5", "1:1")
        if r["creativeType"] == "generated" and r["format"] in (
            "slideshow-builder",
            "slideshow-remix",
        ):
            assert p["kind"] == "slideshow"
            assert 3 <= len(p["imageUrls"]) <= 6 and p["imageUrls"][0] == p["primaryUrl"]
            assert p["videoUrl"] is None and p["durationMs"] is None
        elif p["kind"] == "video":
            assert r["format"] in ("ugc-remix", "video-remix")
            assert p["imageUrls"] == [] and p["videoUrl"] == p["primaryUrl"]
            assert isinstance(p["durationMs"], int) and p["durationMs"] > 0
        else:
            assert p["kind"] == "image" and r["creativeType"] == "uploaded"
            assert p["imageUrls"] == [p["primaryUrl"]]
        asset = r["primaryAsset"]
        assert set(asset) == {"assetId", "kind", "thumbnailUrl"}
        assert asset["assetId"].startswith("ast_") and asset["thumbnailUrl"] == p["thumbnailUrl"]
    kinds = {r["preview"]["kind"] for r in items if r["preview"]}
    assert kinds == {"slideshow", "video", "image"}


def test_media_is_served_without_auth(big, rows):
    _, items = rows
    done = next(r for r in items if r["preview"] and r["preview"]["kind"] == "slideshow")
    detail = big.ok("GET", f"/content/{done['id']}")
    for url in done["preview"]["imageUrls"][:2] + [done["preview"]["thumbnailUrl"]]:
        r = big.session.get(url, timeout=5)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "image/svg+xml"
        assert r.text.startswith("<svg") and r.text.endswith("</svg>")
        assert detail["hook"].split()[0] in r.text
    video = next(r for r in items if r["preview"] and r["preview"]["kind"] == "video")
    r = big.session.get(video["preview"]["videoUrl"], timeout=5)
    assert r.status_code == 200 and "<animate" in r.text
    missing = big.session.get(big.server.root_url + "/media/prj_x/cnt_y/slide-01.svg", timeout=5)
    assert missing.status_code == 404


def test_get_content_detail(big, rows):
    _, items = rows
    for r in items[:40]:
        d = big.ok("GET", f"/content/{r['id']}")
        assert {k: d[k] for k in ROW_FIELDS} == r
        assert {"assets", "firstComment", "failedAt", "lastError", "hook"} <= set(d)
        if r["status"] == "completed":
            assert d["assets"] and all(
                a["url"].startswith(big.server.root_url) for a in d["assets"]
            )
        else:
            assert d["assets"] == []
        if r["status"] == "failed":
            assert ISO_Z.match(d["failedAt"]) and d["lastError"]["code"]
    failed = next(r for r in items if r["status"] == "failed")
    d = big.ok("GET", f"/content/{failed['id']}")
    assert d["failedAt"] and set(d["lastError"]) == {"code", "message"}
    # bare UUID accepted ([B])
    assert big.ok("GET", f"/content/{items[0]['id'][4:]}")["id"] == items[0]["id"]


def test_get_content_unknown_and_other_org(big, rows):
    _, items = rows
    assert_error(big.get("/content/cnt_00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND")
    assert_error(big.get(f"/content/{items[0]['id']}", key="other_org"), 404, "NOT_FOUND")
