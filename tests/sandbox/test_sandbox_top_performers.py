"""top-performers (seed 000): validation, shape, gate, sums, availability, ties, windows."""

from __future__ import annotations

import pytest

from .conftest import Api, assert_error, norm

ITEM_FIELDS = {
    "rank",
    "sourceType",
    "sourceId",
    "platformPostId",
    "adsContentId",
    "title",
    "thumbnailUrl",
    "metricValue",
    "organic",
    "paid",
}
METRICS = ["views", "engagement_rate", "conversions", "roas", "watch_time_ms"]
FIELD = {
    "views": ("organic", "views"),
    "engagement_rate": ("organic", "engagementRate"),
    "watch_time_ms": ("organic", "watchTimeMs"),
    "conversions": ("paid", "conversions"),
    "roas": ("paid", "roas"),
}


@pytest.fixture
def gen(sandbox_factory):
    api = Api(sandbox_factory(projects=1, creatives_per_project=120))
    return api, api.projects()[0]["id"]


def tp(api, pid, **params):
    return api.ok("GET", f"/projects/{pid}/top-performers", params=params)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"metric": "likes"},
        {"metric": "views", "window": "14d"},
        {"metric": "views", "window": "all"},
        {"metric": "views", "limit": "0"},
        {"metric": "views", "limit": "101"},
        {"metric": "views", "sourceType": "ugc"},
        {"metric": "views", "platform": "facebook"},
        {"metric": "views", "includeIneligible": "maybe"},
    ],
)
def test_validation_errors(gen, params):
    api, pid = gen
    assert_error(api.get(f"/projects/{pid}/top-performers", params=params), 422, "VALIDATION")


@pytest.mark.parametrize("metric", ["roas", "conversions"])
def test_paid_metric_with_organic_only_sources_is_422(gen, metric):
    api, pid = gen
    r = api.get(
        f"/projects/{pid}/top-performers", params={"metric": metric, "sourceType": "platform_post"}
    )
    err = assert_error(r, 422, "VALIDATION")
    assert err["message"] == (
        f"metric={metric} requires paid data. Filter sourceType to content_container or manual, "
        "or pick an organic metric."
    )
    # a mix that can carry paid data is fine, and so is an organic metric on UGC alone
    ok = {"metric": metric, "sourceType": ["platform_post", "manual"]}
    assert api.get(f"/projects/{pid}/top-performers", params=ok).status_code == 200
    assert tp(api, pid, metric="views", sourceType="platform_post")["items"]


def test_unknown_project_is_404(gen):
    api, _ = gen
    assert_error(api.get("/projects/prj_nope/top-performers?metric=views"), 404, "NOT_FOUND")


# ----------------------------------------------------------------------------- shape
def test_seed_example_shape(gen):
    api, pid = gen
    body = tp(api, pid, metric="roas", window="30d", limit="10")
    assert set(body) == {"metric", "window", "items"}
    assert body["metric"] == "roas" and body["window"] == "30d"
    assert 1 <= len(body["items"]) <= 10
    for i, item in enumerate(body["items"], start=1):
        assert set(item) == ITEM_FIELDS and item["rank"] == i
        assert item["metricValue"] == item["paid"]["roas"]
        assert set(item["paid"]) == {"spend", "conversions", "roas", "cpa"}
        if item["organic"] is not None:
            assert set(item["organic"]) == {"views", "engagementRate", "platforms", "watchTimeMs"}
        assert item["thumbnailUrl"].startswith(api.server.root_url + "/media/")
        assert api.session.get(item["thumbnailUrl"], timeout=5).status_code == 200


def test_default_window_and_limit(gen):
    api, pid = gen
    body = tp(api, pid, metric="views", includeIneligible="true")
    assert body["window"] == "30d" and len(body["items"]) == 25
    assert len(tp(api, pid, metric="views", includeIneligible="true", limit="100")["items"]) > 25
    assert len(tp(api, pid, metric="views", limit="1")["items"]) == 1


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("window", ["7d", "30d", "90d"])
def test_sorted_desc_ties_by_ads_content_id_desc(gen, metric, window):
    api, pid = gen
    items = tp(api, pid, metric=metric, window=window, limit="100", includeIneligible="true")[
        "items"
    ]
    assert items
    keys = [(i["metricValue"], i["adsContentId"] or "") for i in items]
    assert keys == sorted(keys, reverse=True)
    sub, field = FIELD[metric]
    assert all(i["metricValue"] == i[sub][field] for i in items)
    mapped = [i["adsContentId"] for i in items if i["adsContentId"]]
    assert len(mapped) == len(set(mapped))  # one item per creative


def test_windows_rank_differently(gen):
    api, pid = gen
    orders = {
        w: [i["adsContentId"] for i in tp(api, pid, metric="views", window=w, limit="20")["items"]]
        for w in ("7d", "30d", "90d")
    }
    assert len({tuple(o) for o in orders.values()}) == 3


def test_metric_availability_by_source(gen):
    api, pid = gen
    for metric in ("views", "engagement_rate", "watch_time_ms"):
        items = tp(api, pid, metric=metric, limit="100", includeIneligible="true")["items"]
        assert items and all(i["sourceType"] != "manual" and i["organic"] for i in items)
    watch = tp(api, pid, metric="watch_time_ms", limit="100", includeIneligible="true")["items"]
    assert all(set(i["organic"]["platforms"]) & {"tiktok", "instagram"} for i in watch)
    views = tp(api, pid, metric="views", limit="100", includeIneligible="true")["items"]
    assert any(i["paid"] is None for i in views)  # never promoted: paid is null
    assert any(i["paid"] is not None for i in views)
    for metric in ("roas", "conversions"):
        paid = tp(api, pid, metric=metric, limit="100", includeIneligible="true")["items"]
        assert paid and all(i["paid"] for i in paid)
        assert {"manual", "content_container"} <= {i["sourceType"] for i in paid}
        manual = [i for i in paid if i["sourceType"] == "manual"]
        assert all(i["organic"] is None for i in manual)


def test_source_type_filter(gen):
    api, pid = gen
    for st in ("content_container", "platform_post"):
        items = tp(api, pid, metric="views", sourceType=st, limit="100")["items"]
        assert items and {i["sourceType"] for i in items} == {st}
    items = tp(api, pid, metric="roas", sourceType="manual", limit="100")["items"]
    assert items and {i["sourceType"] for i in items} == {"manual"}


def test_window_sums_follow_the_documented_rule(gen, sandbox_factory):
    """30d = the 30 most recent daily buckets, today's counted for the elapsed fraction."""
    api, pid = gen
    store = api.server.store
    p = store.projects[pid]
    now = store.now
    today, frac = now // 86400, (now % 86400) / 86400
    items = tp(api, pid, metric="views", window="30d", limit="100", includeIneligible="true")
    for item in items["items"][:15]:
        expected = 0
        for s in p.metrics.organic_for(norm(item["adsContentId"])):
            for d in range(today - 29, today + 1):
                v = s.day(d)[0]
                expected += int(v * frac) if d == today else v
        assert item["organic"]["views"] == expected


# ----------------------------------------------------------------------------- crafted data
@pytest.fixture
def crafted(sandbox_factory):
    """A project whose metrics are wiped, then pinned day by day."""
    srv = sandbox_factory(projects=1, creatives_per_project=60, now="2026-11-01T00:00:00Z")
    api = Api(srv)
    pid = api.projects()[0]["id"]
    srv.store.clear_metrics(pid)
    rows = api.walk(f"/projects/{pid}/ads-content", {"limit": 200})
    return api, pid, rows


def put(api, pid, creative, platform, day, **values):
    api.server.store.set_daily_metrics(pid, creative, platform, day, **values)


def _organic_rows(rows, predicate):
    return [r for r in rows if r["sourceType"] != "manual" and predicate(r)]


def test_gate_on_both_paths(crafted):
    api, pid, rows = crafted
    exact = _organic_rows(rows, lambda r: r["organicScore"] == 4.0 and r["override"] is None)[0]
    low = _organic_rows(rows, lambda r: r["organicScore"] < 4.0 and r["override"] is None)
    high = _organic_rows(rows, lambda r: r["organicScore"] > 4.0 and r["override"] is None)
    include_low, plain_low = low[0], low[1]
    exclude_high, plain_high = high[0], high[1]
    for r, value in ((include_low, "include"), (exclude_high, "exclude")):
        api.ok(
            "PATCH", f"/projects/{pid}/ads-content/{r['adsContentId']}", json={"override": value}
        )
    cast = [exact, include_low, plain_low, exclude_high, plain_high]
    for n, r in enumerate(cast, start=1):
        put(api, pid, r["adsContentId"], "tiktok", "2026-10-30", views=1000 * n, engagements=10 * n)
        put(
            api,
            pid,
            r["adsContentId"],
            "meta_ads",
            "2026-10-30",
            spend_cents=1000,
            revenue_cents=1000 * n,
        )
    put(api, pid, "ad-not-linked", "tiktok_ads", "2026-10-30", spend_cents=500, revenue_cents=9000)

    eligible = {exact["adsContentId"], include_low["adsContentId"], plain_high["adsContentId"]}
    everyone = {r["adsContentId"] for r in cast}

    views = tp(api, pid, metric="views")["items"]
    assert {norm(i["adsContentId"]) for i in views} == eligible
    roas = tp(api, pid, metric="roas")["items"]
    assert {norm(i["adsContentId"]) for i in roas} == eligible | {None}
    unmapped = next(i for i in roas if norm(i["adsContentId"]) is None)
    assert unmapped["rank"] == 1 and unmapped["metricValue"] == 18.0  # passes the gate
    assert unmapped["sourceType"] == "manual" and unmapped["sourceId"] is None
    assert unmapped["organic"] is None and unmapped["paid"]["spend"] == 5.0

    all_views = tp(api, pid, metric="views", includeIneligible="true")["items"]
    assert {norm(i["adsContentId"]) for i in all_views} == everyone
    assert [i["metricValue"] for i in all_views] == [5000, 4000, 3000, 2000, 1000]
    all_roas = tp(api, pid, metric="roas", includeIneligible="true")["items"]
    assert {norm(i["adsContentId"]) for i in all_roas} == everyone | {None}


def test_one_item_per_creative_sums_platforms_and_ads(crafted):
    api, pid, rows = crafted
    r = _organic_rows(rows, lambda r: r["eligibility"]["isEligible"])[0]
    acid = r["adsContentId"]
    put(api, pid, acid, "instagram", "2026-10-28", views=100, engagements=7, watch_time_ms=5000)
    put(api, pid, acid, "tiktok", "2026-10-29", views=50, engagements=5, watch_time_ms=1000)
    put(api, pid, acid, "tiktok", "2026-10-30", views=50, engagements=3)
    put(
        api,
        pid,
        acid,
        "meta_ads",
        "2026-10-28",
        spend_cents=1000,
        conversions=10,
        revenue_cents=5000,
    )
    put(
        api,
        pid,
        acid,
        "tiktok_ads",
        "2026-10-29",
        spend_cents=3000,
        conversions=5,
        revenue_cents=3000,
    )
    items = tp(api, pid, metric="views")["items"]
    assert len(items) == 1
    item = items[0]
    assert norm(item["adsContentId"]) == acid and item["sourceType"] == r["sourceType"]
    assert norm(item["sourceId"], "cnt_") == norm(r["sourceId"], "cnt_")
    assert item["platformPostId"] == r["platformPostId"]
    assert item["title"] and item["thumbnailUrl"].startswith(api.server.root_url + "/media/")
    if r["sourceType"] == "content_container":
        container = api.ok("GET", f"/content/{r['sourceId']}")
        assert item["thumbnailUrl"] == container["preview"]["thumbnailUrl"]
    assert item["organic"] == {
        "views": 200,
        "engagementRate": 0.075,
        "platforms": ["instagram", "tiktok"],
        "watchTimeMs": 6000,
    }
    assert item["paid"] == {"spend": 40.0, "conversions": 15, "roas": 2.0, "cpa": 2.67}
    assert tp(api, pid, metric="engagement_rate")["items"][0]["metricValue"] == 0.075
    assert tp(api, pid, metric="watch_time_ms")["items"][0]["metricValue"] == 6000
    assert tp(api, pid, metric="conversions")["items"][0]["metricValue"] == 15
    assert tp(api, pid, metric="roas")["items"][0]["metricValue"] == 2.0


def test_never_promoted_has_null_paid_and_no_paid_rank(crafted):
    api, pid, rows = crafted
    acid = _organic_rows(rows, lambda r: r["eligibility"]["isEligible"])[0]["adsContentId"]
    put(api, pid, acid, "youtube", "2026-10-30", views=10)
    assert tp(api, pid, metric="views")["items"][0]["paid"] is None
    assert tp(api, pid, metric="roas")["items"] == []
    assert tp(api, pid, metric="watch_time_ms")["items"] == []  # youtube has no watch time


def test_ties_break_on_ads_content_id_desc(crafted):
    api, pid, rows = crafted
    eligible = _organic_rows(rows, lambda r: r["eligibility"]["isEligible"])[:4]
    for r in eligible:
        put(api, pid, r["adsContentId"], "tiktok", "2026-10-30", views=777)
        put(
            api,
            pid,
            r["adsContentId"],
            "meta_ads",
            "2026-10-30",
            spend_cents=100,
            revenue_cents=300,
        )
    put(api, pid, "ad-zzz", "meta_ads", "2026-10-30", spend_cents=100, revenue_cents=300)
    expected = sorted((r["adsContentId"] for r in eligible), reverse=True)
    assert [norm(i["adsContentId"]) for i in tp(api, pid, metric="views")["items"]] == expected
    # unmapped rows have no adsContentId: they sort after mapped rows on a tie
    roas = tp(api, pid, metric="roas")["items"]
    assert [norm(i["adsContentId"]) for i in roas] == [*expected, None]
    assert [i["rank"] for i in roas] == [1, 2, 3, 4, 5]


def test_window_boundaries(crafted):
    """now = 2026-11-01T00:00Z. A bucket is in the window when now-W < bucket start <= now."""
    api, pid, rows = crafted
    acid = _organic_rows(rows, lambda r: r["eligibility"]["isEligible"])[0]["adsContentId"]
    pins = {
        "2026-11-01": 500,  # today: 0 % of the day elapsed at midnight
        "2026-10-26": 10,  # now - 6d: inside 7d
        "2026-10-25": 1000,  # now - 7d exactly: outside 7d, inside 30d
        "2026-10-03": 3,  # now - 29d: inside 30d
        "2026-10-02": 7,  # now - 30d exactly: outside 30d, inside 90d
        "2026-08-04": 20000,  # now - 89d: inside 90d
        "2026-08-03": 100000,  # now - 90d exactly: outside every window
    }
    for day, views in pins.items():
        put(api, pid, acid, "tiktok", day, views=views)

    def value(window):
        # (the advances below add creatives and may flip overrides: look ours up by id)
        items = tp(api, pid, metric="views", window=window, limit="100", includeIneligible="true")
        return next(i["metricValue"] for i in items["items"] if norm(i["adsContentId"]) == acid)

    assert {w: value(w) for w in ("7d", "30d", "90d")} == {"7d": 10, "30d": 1013, "90d": 21020}
    # windows end at query time: 12 h later half of today's bucket has accrued
    api.control("POST", "/_sandbox/advance?hours=12")
    assert value("7d") == 260
    # and 24 h later the 2026-10-26 bucket sits exactly on the 7d boundary
    api.control("POST", "/_sandbox/advance?hours=12")
    assert value("7d") == 500
    assert value("90d") == 7 + 3 + 1000 + 10 + 500  # 2026-08-04 is now on the boundary


def test_platform_filter(crafted):
    api, pid, rows = crafted
    a, b = _organic_rows(rows, lambda r: r["eligibility"]["isEligible"])[:2]
    put(api, pid, a["adsContentId"], "instagram", "2026-10-30", views=100)
    put(api, pid, a["adsContentId"], "tiktok", "2026-10-30", views=50)
    put(api, pid, a["adsContentId"], "meta_ads", "2026-10-30", spend_cents=1000, revenue_cents=2000)
    put(
        api, pid, a["adsContentId"], "apple_ads", "2026-10-30", spend_cents=1000, revenue_cents=6000
    )
    put(api, pid, b["adsContentId"], "tiktok", "2026-10-30", views=70)
    put(api, pid, "ad-unlinked", "apple_ads", "2026-10-30", spend_cents=100, revenue_cents=100)

    insta = tp(api, pid, metric="views", platform="instagram")["items"]
    assert [(norm(i["adsContentId"]), i["metricValue"]) for i in insta] == [
        (a["adsContentId"], 100)
    ]
    assert insta[0]["organic"]["platforms"] == ["instagram"]
    both = tp(api, pid, metric="views", platform=["instagram", "tiktok"])["items"]
    assert [i["metricValue"] for i in both] == [150, 70]
    # paid-only sources ignore the (organic) platform filter
    roas = tp(api, pid, metric="roas", platform="tiktok")["items"]
    assert {norm(i["adsContentId"]) for i in roas} == {a["adsContentId"], None}
    # ad platforms restrict the paid sums
    meta = tp(api, pid, metric="roas", platform="meta_ads")["items"]
    assert [i["metricValue"] for i in meta if norm(i["adsContentId"])] == [2.0]
    assert tp(api, pid, metric="roas")["items"][0]["metricValue"] == 4.0
