"""Projects: list filters and pagination, create, get, patch, archive (seed 003)."""

from __future__ import annotations

import pytest

from .conftest import ISO_Z, UUID, Api, assert_error

LIST_FIELDS = {
    "id",
    "name",
    "status",
    "customerExternalId",
    "timezone",
    "primaryLanguage",
    "ownerEmail",
    "createdAt",
    "updatedAt",
}
FULL_FIELDS = LIST_FIELDS | {
    "organizationId",
    "brand",
    "brandContext",
    "platformIosBundleId",
    "platformAndroidBundleId",
    "platformWebDomain",
    "ingestState",
    "requiresApproval",
    "firstNPostsBlocked",
    "currentBlockedCount",
    "metadata",
}


@pytest.fixture
def six(sandbox_factory):
    return Api(sandbox_factory(projects=6, creatives_per_project=8))


def test_list_defaults_to_active_newest_first(six):
    items = six.projects()
    assert len(items) == 5  # one of six is archived by the generator
    assert all(p["status"] == "active" for p in items)
    keys = [(p["createdAt"], p["id"]) for p in items]
    assert keys == sorted(keys, reverse=True)
    assert all(set(p) == LIST_FIELDS for p in items)
    assert all(p["id"].startswith("prj_") and UUID.match(p["id"][4:]) for p in items)


def test_status_filter(six):
    archived = six.projects(status="archived")
    assert len(archived) == 1 and archived[0]["status"] == "archived"
    active = six.projects(status="active")
    assert len(active) == 5
    assert_error(six.get("/projects?status=deleted"), 422, "VALIDATION")


@pytest.mark.parametrize("limit", ["0", "201", "abc", "-1"])
def test_limit_bounds(six, limit):
    assert_error(six.get("/projects", params={"limit": limit}), 422, "VALIDATION")


def test_limit_200_is_allowed_and_default_is_25(sandbox_factory):
    api = Api(sandbox_factory(projects=30, creatives_per_project=1))
    assert len(api.ok("GET", "/projects")["items"]) == 25
    assert len(api.ok("GET", "/projects", params={"limit": 200})["items"]) == 29


def test_pagination_walk_returns_every_row_once(sandbox_factory):
    api = Api(sandbox_factory(projects=30, creatives_per_project=1))
    everything = api.ok("GET", "/projects", params={"limit": 200})["items"]
    for limit in (1, 4, 7):
        walked = api.walk("/projects", {"limit": limit})
        assert [p["id"] for p in walked] == [p["id"] for p in everything]


@pytest.mark.parametrize("cursor", ["garbage!!", "eyJmb28iOiJiYXIifQ", "bm90IGpzb24"])
def test_malformed_cursor_is_422(six, cursor):
    assert_error(six.get("/projects", params={"cursor": cursor}), 422, "VALIDATION")


def test_search_is_case_insensitive_substring(six):
    items = six.projects()
    name = items[2]["name"]
    needle = name.split()[0][1:4].upper()
    found = six.projects(search=needle)
    assert items[2]["id"] in {p["id"] for p in found}
    assert all(needle.lower() in p["name"].lower() for p in found)
    assert six.projects(search="zzz-no-such-name") == []


def test_customer_external_id_lookup_and_no_uniqueness(six):
    target = six.projects()[1]
    found = six.projects(customerExternalId=target["customerExternalId"])
    assert [p["id"] for p in found] == [target["id"]]
    # seed 003: the server does not enforce uniqueness
    body = {
        "name": "Twin Co",
        "timezone": "UTC",
        "customerExternalId": target["customerExternalId"],
    }
    assert six.post("/projects", json=body).status_code == 201
    assert len(six.projects(customerExternalId=target["customerExternalId"])) == 2


def test_get_project_full_row_and_bare_uuid(six):
    pid = six.projects()[0]["id"]
    row = six.ok("GET", f"/projects/{pid}")
    assert set(row) == FULL_FIELDS
    assert row["organizationId"] == six.ok("GET", "/whoami")["organizationId"]
    assert six.ok("GET", f"/projects/{pid[4:]}")["id"] == pid
    assert_error(six.get("/projects/prj_00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND")


def test_create_project_seed_example(six):
    body = {
        "name": "Acme Fitness",
        "customerExternalId": "acme-prod-987",
        "timezone": "America/Los_Angeles",
    }
    r = six.post("/projects", json=body)
    assert r.status_code == 201, r.text
    row = r.json()
    assert set(row) == FULL_FIELDS
    assert row["name"] == "Acme Fitness"
    assert row["customerExternalId"] == "acme-prod-987"
    assert row["timezone"] == "America/Los_Angeles"
    assert row["status"] == "active" and row["primaryLanguage"] == "en"
    assert ISO_Z.match(row["createdAt"]) and row["createdAt"] == "2026-11-01T12:00:00Z"
    assert r.headers["Location"] == f"/v1/projects/{row['id']}"
    assert six.ok("GET", f"/projects/{row['id']}") == row
    assert six.projects()[0]["id"] == row["id"]  # newest first
    assert six.ok("GET", f"/projects/{row['id']}/content") == {"items": [], "nextCursor": None}
    assert six.ok("GET", f"/projects/{row['id']}/ads-content") == {"items": [], "nextCursor": None}


@pytest.mark.parametrize(
    "body",
    [
        {"timezone": "UTC"},
        {"name": "Acme Fitness"},
        {"name": "Acme Fitness", "timezone": "Mars/Olympus_Mons"},
        {"name": "Acme Fitness", "timezone": "PST"},
        {"name": "Ac", "timezone": "UTC"},
        {"name": "A" * 31, "timezone": "UTC"},
        {"name": "Acme Fitness", "timezone": "UTC", "id": "prj_mine"},
        {"name": "Acme Fitness", "timezone": "UTC", "colour": "red"},
        {"name": "Acme Fitness", "timezone": "UTC", "ownerEmail": "not-an-email"},
        {"name": "Acme Fitness", "timezone": "UTC", "metadata": "string"},
        ["not", "an", "object"],
    ],
)
def test_create_project_validation(six, body):
    before = len(six.projects())
    assert_error(six.post("/projects", json=body), 422, "VALIDATION")
    assert len(six.projects()) == before


def test_create_project_invalid_json_and_empty_body(six):
    assert_error(six.post("/projects", data="{nope"), 422, "VALIDATION")
    assert_error(six.post("/projects", data=""), 422, "VALIDATION")


def test_patch_user_fields(six):
    pid = six.projects()[0]["id"]
    body = {
        "name": "Renamed Co",
        "timezone": "Europe/Berlin",
        "metadata": {"tier": "gold"},
        "customerExternalId": None,
        "tagline": "Hello",
    }
    row = six.ok("PATCH", f"/projects/{pid}", json=body)
    assert row["name"] == "Renamed Co" and row["timezone"] == "Europe/Berlin"
    assert row["metadata"] == {"tier": "gold"}  # full replace, no merge
    assert row["customerExternalId"] is None
    assert row["brandContext"]["tagline"] == "Hello"
    assert six.ok("GET", f"/projects/{pid}") == row


@pytest.mark.parametrize(
    "body",
    [
        {"id": "prj_x"},
        {"organizationId": "org_x"},
        {"createdAt": "2020-01-01T00:00:00Z"},
        {"ingestState": {}},
        {"brandContext": {}},
        {},
        {"unknownField": 1},
        {"timezone": "Nowhere/City"},
        {"name": "x"},
        {"status": "deleted"},
        ["list"],
    ],
)
def test_patch_system_or_bad_fields_is_400(six, body):
    pid = six.projects()[0]["id"]
    before = six.ok("GET", f"/projects/{pid}")
    assert_error(six.patch(f"/projects/{pid}", json=body), 400, "VALIDATION")
    assert six.ok("GET", f"/projects/{pid}") == before


def test_patch_invalid_json_is_400(six):
    pid = six.projects()[0]["id"]
    assert_error(six.patch(f"/projects/{pid}", data="{oops"), 400, "VALIDATION")
    assert_error(six.patch(f"/projects/{pid}", data=""), 400, "VALIDATION")


def test_delete_is_soft_and_repeatable(six):
    pid = six.projects()[0]["id"]
    r = six.delete(f"/projects/{pid}")
    assert r.status_code == 200
    assert r.json() == {
        "id": pid,
        "status": "archived",
        "archivedAt": "2026-11-01T12:00:00Z",
        "canceledScheduledPosts": 0,
    }
    assert six.delete(f"/projects/{pid}").status_code == 200  # repeatable, never 409
    assert pid not in {p["id"] for p in six.projects()}
    assert pid in {p["id"] for p in six.projects(status="archived")}
    # archived projects stay readable
    assert six.ok("GET", f"/projects/{pid}")["status"] == "archived"
    assert six.ok("GET", f"/projects/{pid}/content")["items"]
    assert six.ok("GET", f"/projects/{pid}/ads-content")["items"]
    assert six.get(f"/projects/{pid}/top-performers?metric=views").status_code == 200


def test_delete_unknown_is_404(six):
    assert_error(six.delete("/projects/prj_nope"), 404, "NOT_FOUND")


def test_writes_to_archived_project(six):
    """Choice: override PATCH on an archived project is 409 CONFLICT; PATCH status:active
    un-archives; PATCH of other fields stays allowed."""
    pid = six.projects()[0]["id"]
    row = six.ok("GET", f"/projects/{pid}/ads-content")["items"][0]
    six.ok("DELETE", f"/projects/{pid}")
    url = f"/projects/{pid}/ads-content/{row['adsContentId']}"
    err = assert_error(six.patch(url, json={"override": "exclude"}), 409, "CONFLICT")
    assert "archived" in err["message"]
    assert six.ok("GET", f"/projects/{pid}/ads-content")["items"][0]["override"] == row["override"]
    assert (
        six.ok("PATCH", f"/projects/{pid}", json={"name": "Still Editable"})["status"] == "archived"
    )
    assert six.ok("PATCH", f"/projects/{pid}", json={"status": "active"})["status"] == "active"
    assert pid in {p["id"] for p in six.projects()}
    new = "include" if row["override"] != "include" else "exclude"
    assert six.ok("PATCH", url, json={"override": new})["override"] == new


def test_archive_via_patch(six):
    pid = six.projects()[0]["id"]
    assert six.ok("PATCH", f"/projects/{pid}", json={"status": "archived"})["status"] == "archived"
    assert pid in {p["id"] for p in six.projects(status="archived")}
