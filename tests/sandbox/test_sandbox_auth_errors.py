"""Auth (Bearer only), scopes, cross-org isolation, the error envelope and request ids."""

from __future__ import annotations

import pytest

from .conftest import REQUEST_ID, UUID, assert_error


def test_missing_key_is_401(api):
    r = api.get("/projects", key=None)
    assert_error(r, 401, "UNAUTHENTICATED")
    assert r.headers["X-RateLimit-Endpoint-Class"] == "read-light"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer lp_test_AAAAAAAAAAAAAAAA_" + "x" * 43},
        {"Authorization": "Basic Zm9vOmJhcg=="},
        {"Authorization": "Bearer "},
    ],
)
def test_unknown_or_malformed_key_is_401(api, headers):
    assert_error(api.get("/whoami", key=None, headers=headers), 401, "UNAUTHENTICATED")


def test_x_api_key_header_is_not_accepted(api, sandbox_server):
    # [B] docs: Bearer is the only accepted form.
    r = api.get("/whoami", key=None, headers={"X-Api-Key": sandbox_server.keys["main"]})
    assert_error(r, 401, "UNAUTHENTICATED")


def test_bearer_scheme_is_case_insensitive(api, sandbox_server):
    r = api.get(
        "/whoami", key=None, headers={"Authorization": "bearer " + sandbox_server.keys["main"]}
    )
    assert r.status_code == 200


def test_whoami_shape(api, sandbox_server):
    body = api.ok("GET", "/whoami")
    assert set(body) == {
        "organizationId",
        "workspaceId",
        "organizationName",
        "parentOrganizationId",
        "scopes",
        "rateLimitTier",
        "apiKeyId",
        "creditBalance",
    }
    assert body["organizationId"].startswith("org_") and UUID.match(body["organizationId"][4:])
    assert body["workspaceId"] == body["organizationId"]
    assert body["apiKeyId"].startswith("key_") and UUID.match(body["apiKeyId"][4:])
    assert body["rateLimitTier"] == "unlimited"
    assert {"projects:read", "projects:write", "content:read", "metrics:read", "ads:write"} <= set(
        body["scopes"]
    )
    assert isinstance(body["creditBalance"], int)
    ro = api.ok("GET", "/whoami", key="readonly")
    assert sorted(ro["scopes"]) == ["content:read", "metrics:read", "projects:read"]
    assert ro["organizationId"] == body["organizationId"]
    other = api.ok("GET", "/whoami", key="other_org")
    assert other["organizationId"] != body["organizationId"]


def test_keys_have_the_documented_shape(sandbox_server):
    import re

    for key in sandbox_server.keys.values():
        assert re.fullmatch(r"lp_test_[A-Z2-7]{16}_[A-Za-z0-9_-]{43}", key), key
    assert len(set(sandbox_server.keys.values())) == len(sandbox_server.keys)


def test_tier_is_reported(sandbox_factory):
    srv = sandbox_factory(tier="pilot", projects=1, creatives_per_project=5)
    from .conftest import Api

    assert Api(srv).ok("GET", "/whoami")["rateLimitTier"] == "pilot"


def test_fixed_main_key(sandbox_factory):
    from .conftest import Api

    key = "lp_test_ABCDEFGHIJKLMNOP_" + "x" * 43
    srv = sandbox_factory(api_key=key, projects=1, creatives_per_project=5)
    assert srv.keys["main"] == key
    assert Api(srv).get("/whoami").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        ("POST", "/projects", {"name": "Nope Inc", "timezone": "UTC"}, "projects:write"),
        ("PATCH", "/projects/{pid}", {"name": "Renamed"}, "projects:write"),
        ("DELETE", "/projects/{pid}", None, "projects:write"),
        ("PATCH", "/projects/{pid}/ads-content/{aid}", {"override": "include"}, "ads:write"),
    ],
)
def test_readonly_key_cannot_write(api, project_id, method, path, body, scope):
    aid = api.ok("GET", f"/projects/{project_id}/ads-content")["items"][0]["adsContentId"]
    r = api.request(method, path.format(pid=project_id, aid=aid), key="readonly", json=body)
    err = assert_error(r, 403, "FORBIDDEN_SCOPE")
    assert scope in err["message"]
    # nothing changed
    assert api.ok("GET", f"/projects/{project_id}")["status"] == "active"


@pytest.mark.parametrize(
    "path",
    [
        "/projects",
        "/projects/{pid}",
        "/projects/{pid}/content",
        "/projects/{pid}/ads-content",
        "/projects/{pid}/top-performers?metric=views",
    ],
)
def test_key_without_scopes_gets_403_on_reads(api, project_id, path):
    assert_error(api.get(path.format(pid=project_id), key="noscope"), 403, "FORBIDDEN_SCOPE")


def test_unscoped_endpoints_work_for_any_key(api):
    assert api.get("/whoami", key="noscope").status_code == 200
    assert api.get("/audit-log", key="noscope").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/projects/{pid}", None),
        ("PATCH", "/projects/{pid}", {"name": "Stolen"}),
        ("DELETE", "/projects/{pid}", None),
        ("GET", "/projects/{pid}/content", None),
        ("GET", "/projects/{pid}/ads-content", None),
        ("PATCH", "/projects/{pid}/ads-content/{aid}", {"override": "exclude"}),
        ("GET", "/projects/{pid}/top-performers?metric=views", None),
        ("GET", "/content/{cid}", None),
    ],
)
def test_other_org_gets_404_not_403(api, project_id, method, path, body):
    aid = api.ok("GET", f"/projects/{project_id}/ads-content")["items"][0]["adsContentId"]
    cid = api.ok("GET", f"/projects/{project_id}/content")["items"][0]["id"]
    r = api.request(
        method, path.format(pid=project_id, aid=aid, cid=cid), key="other_org", json=body
    )
    assert_error(r, 404, "NOT_FOUND")
    project = api.ok("GET", f"/projects/{project_id}")
    assert project["status"] == "active" and project["name"] != "Stolen"


def test_other_org_sees_only_its_own_projects(api):
    mine = {p["id"] for p in api.projects()}
    theirs = {p["id"] for p in _walk_as(api, "other_org")}
    assert theirs and mine and not (mine & theirs)


def _walk_as(api, label):
    saved, api.key = api.key, label
    try:
        return api.projects()
    finally:
        api.key = saved


def test_other_org_audit_log_is_separate(api):
    mine = api.ok("GET", "/audit-log")["items"]
    theirs = api.ok("GET", "/audit-log", key="other_org")["items"]
    org = api.ok("GET", "/whoami")["organizationId"]
    assert mine and all(e["organizationId"] == org for e in mine)
    assert all(e["organizationId"] != org for e in theirs)


def test_unknown_route_and_wrong_method(api):
    assert_error(api.get("/nope"), 404, "NOT_FOUND")
    r = api.request("PUT", "/projects")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}
    assert_error(api.get(api.server.root_url + "/v2/projects"), 404, "NOT_FOUND")


def test_request_id_on_every_response_and_unique(api, project_id):
    responses = [
        api.get("/whoami"),
        api.get("/projects"),
        api.get(f"/projects/{project_id}/content"),
        api.get("/projects/prj_nope"),
        api.get("/whoami", key=None),
        api.control("GET", "/_sandbox/faults"),
    ]
    ids = [r.headers["X-Request-Id"] for r in responses]
    assert all(REQUEST_ID.match(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_validation_error_carries_issue_path(api, project_id):
    err = assert_error(api.get(f"/projects/{project_id}/content?limit=500"), 422, "VALIDATION")
    assert err["details"]["issues"][0]["path"] == ["limit"]
