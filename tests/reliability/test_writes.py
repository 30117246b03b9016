"""Writes: an override PATCH whose connection drops after the API applied it is retried with
the same Idempotency-Key and applied once (the API's audit log and ours show one change); a
PATCH the API refuses leaves the cache unchanged and our audit says so.

Rerun: DEBUG=true .venv/bin/python -m pytest tests/reliability/test_writes.py -q
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from creatives.models import AdsContent, OverrideAudit
from creatives.services import ProjectArchived, creative_override_set
from layersadmin.layers import CustomerMismatch, LayersAPIError, LayersOutcomeUnknown
from projects.models import Project
from projects.services.scoping import project_assert_customer
from sync.services import layers_sync
from tests.conftest import grant
from tests.reliability.helpers import (
    TruncatingProxy,
    audit_events,
    fast_client,
    faults_off,
    faults_on,
    record_figure,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(sandbox_factory, settings):
    """A synced sandbox (one archived project among four) and settings pointing at it."""
    server = sandbox_factory(seed=3, projects=4, creatives_per_project=10)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    settings.LAYERS_API_BACKOFF_BASE = 0.005
    client = fast_client(server)
    assert layers_sync(client=client).ok
    cache.clear()
    server.main_key_id = client.whoami()["apiKeyId"]
    yield server
    client.close()


def recording(client):
    """Record (method, path, Idempotency-Key) of every attempt the client sends."""
    sent: list[tuple[str, str, str | None]] = []
    original = client._session.request

    def request(method, url, **kwargs):
        sent.append((method, url, (kwargs.get("headers") or {}).get("Idempotency-Key")))
        return original(method, url, **kwargs)

    client._session.request = request
    return sent


def our_events(server, row: AdsContent) -> list[dict]:
    return [
        e
        for e in audit_events(server, row.project.layers_id)
        if e["apiKeyId"] == server.main_key_id and e["data"]["adsContentId"] == row.layers_id
    ]


def a_row(**filters) -> AdsContent:
    return (
        AdsContent.objects.filter(project__status="active", is_gone=False, override="", **filters)
        .select_related("project")
        .order_by("layers_id")
        .first()
    )


DROPS = {
    "dropped after apply": ["drop_after"],
    "dropped after apply, twice": ["drop_after", "drop_after"],
    "dropped before, then after apply": ["drop_before", "drop_after"],
    "503, then dropped after apply": ["503", "drop_after"],
    "timeout (slow answer), applied meanwhile": ["slow"],
    "dropped after apply, then a 429 burst": ["drop_after", "429"],
}


@pytest.mark.parametrize("faults", list(DROPS.values()), ids=list(DROPS))
def test_patch_without_an_answer_is_retried_with_the_same_key_and_applied_once(world, user, faults):
    row = a_row()
    client = fast_client(world, read_timeout=0.3, max_attempts=6)
    project_assert_customer(project=row.project, client=client)  # the drop hits the PATCH
    sent = recording(client)
    faults_on(world, rate=0, nxt=faults, slow_ms=800)

    result = creative_override_set(
        ads_content=row, user=user, override="exclude", note="legal asked", client=client
    )
    faults_off(world)

    patches = [s for s in sent if s[0] == "PATCH"]
    assert len(patches) >= 2  # at least one attempt went unanswered and was retried
    assert len({key for _m, _u, key in patches}) == 1 and patches[0][2]  # same key each time
    events = our_events(world, row)
    assert len(events) == 1, events  # the API applied it once
    assert events[0]["data"]["after"] == "exclude"
    audits = OverrideAudit.objects.filter(ads_content=row)
    assert audits.count() == 1  # our audit shows one change
    audit = audits.get()
    assert audit.outcome == "succeeded" and audit.request_id.startswith("req_")
    assert audit.idempotency_key == patches[0][2]
    assert result.audit.pk == audit.pk
    row.refresh_from_db()
    assert (row.override, row.override_note) == ("exclude", "legal asked")
    record_figure(
        "writes", case=" + ".join(faults), attempts=len(patches), applied=len(events), audits=1
    )


def test_retries_ending_on_5xx_after_an_unanswered_attempt_are_unknown_then_resent_once(
    world, user
):
    """The first attempt was applied but unanswered; the rest got 500s. That is not
    "refused": the audit says unknown, and sending the same form again applies nothing new."""
    row = a_row()
    client = fast_client(world, max_attempts=3)
    project_assert_customer(project=row.project, client=client)
    faults_on(world, rate=0, nxt=["drop_after", "500", "500"])
    with pytest.raises(LayersOutcomeUnknown):
        creative_override_set(
            ads_content=row, user=user, override="include", form_token="form-1", client=client
        )
    audit = OverrideAudit.objects.get(ads_content=row)
    assert audit.outcome == "unknown"
    assert len(our_events(world, row)) == 1  # it was applied upstream

    result = creative_override_set(
        ads_content=row, user=user, override="include", form_token="form-1", client=client
    )
    assert result.audit.outcome == "succeeded"
    assert result.audit.idempotency_key == audit.idempotency_key
    assert len(our_events(world, row)) == 1  # the resend was a replay, not a second change
    row.refresh_from_db()
    assert row.override == "include"


def _refuse_archived(world):
    # Archived upstream since our copy was read (a locally archived project is refused before
    # anything is sent: tests/creatives/test_override_safety.py).
    row = AdsContent.objects.filter(project__status="archived").select_related("project")[0]
    Project.objects.filter(pk=row.project_id).update(status="active")
    return AdsContent.objects.select_related("project").get(pk=row.pk), {}


def _refuse_unknown_creative(world):
    row = a_row()
    ghost = AdsContent.objects.create(
        project=row.project,
        layers_id="00000000-0000-4000-8000-00000000dead",
        source_type="manual",
        scoring_pool="manual",
        organic_score=5.0,
        synced_at=row.synced_at,
    )
    return ghost, {}


def _refuse_readonly_key(world):
    return a_row(), {"key": "readonly"}


def _refuse_customer_changed(world):
    row = a_row()
    row.project.customer_external_id = "not-the-customer-upstream"
    row.project.save(update_fields=["customer_external_id"])
    return AdsContent.objects.select_related("project").get(pk=row.pk), {}


REFUSALS = {
    "409 archived project": (_refuse_archived, ProjectArchived, "CONFLICT"),
    "404 unknown creative": (_refuse_unknown_creative, LayersAPIError, "NOT_FOUND"),
    "403 key without ads:write": (_refuse_readonly_key, LayersAPIError, "FORBIDDEN_SCOPE"),
    "customer changed upstream": (_refuse_customer_changed, CustomerMismatch, "CUSTOMER_MISMATCH"),
}


@pytest.mark.parametrize("case", list(REFUSALS.values()), ids=list(REFUSALS))
def test_a_refused_patch_leaves_the_cache_unchanged_and_the_audit_says_so(world, user, case):
    make, error, code = case
    row, options = make(world)
    before = AdsContent.objects.values().get(pk=row.pk)
    events_before = len(audit_events(world))
    client = fast_client(world, key=options.get("key", "main"))
    with pytest.raises(error) as info:
        creative_override_set(
            ads_content=row, user=user, override="include", note="try", client=client
        )
    assert info.value.code == code
    assert AdsContent.objects.values().get(pk=row.pk) == before  # the cache is unchanged
    audit = OverrideAudit.objects.get(ads_content=row)
    assert (audit.outcome, audit.error_code) == ("failed", code)
    assert audit.error_message and audit.completed_at
    if code != "CUSTOMER_MISMATCH":
        assert audit.request_id.startswith("req_")  # support can quote it to Layers
    assert len(audit_events(world)) == events_before  # nothing was applied upstream
    record_figure("writes", case=f"refused: {code}", cache_unchanged=True, audit=audit.outcome)


def test_the_dashboard_reports_a_refusal_and_a_dropped_write_applied_once(world, user, client):
    """The same two outcomes through the override form (htmx), as the person sees them."""
    grant(user, "change_override", "view_all_projects")
    client.force_login(user)
    archived = AdsContent.objects.filter(project__status="archived").select_related("project")[0]
    url = f"/projects/{archived.project.layers_id}/creatives/{archived.layers_id}/override/"
    response = client.post(
        url, {"override": "include", "note": "x", "form_token": "t1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 409  # refused here: the project is archived
    assert "Nothing was changed: this project is archived" in response.content.decode()
    assert not OverrideAudit.objects.filter(ads_content=archived).exists()

    row = a_row()
    project_assert_customer(project=row.project, client=fast_client(world))
    faults_on(world, rate=0, nxt=["drop_after"])
    url = f"/projects/{row.project.layers_id}/creatives/{row.layers_id}/override/"
    response = client.post(
        url,
        {"override": "exclude", "note": "y", "form_token": "t2", "confirmed": "exclude"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "Layers confirmed the change" in response.content.decode()
    assert len(our_events(world, row)) == 1
    assert OverrideAudit.objects.get(ads_content=row).outcome == "succeeded"


def test_a_patch_whose_answer_breaks_off_mid_body_is_retried_and_applied_once(world, user):
    """The API applied the PATCH and began answering; the connection broke mid-body. That is
    "no answer" too: retried with the same key, applied once (not a 500, not a stuck audit)."""
    row = a_row()
    with TruncatingProxy(world, cut={"PATCH": {1}}) as proxy:
        client = fast_client(proxy)
        project_assert_customer(project=row.project, client=client)
        result = creative_override_set(
            ads_content=row, user=user, override="exclude", note="cut", client=client
        )
        assert proxy.cuts == 1 and proxy.seen["PATCH"] == 2
    assert result.audit.outcome == "succeeded"
    assert len(our_events(world, row)) == 1
    assert OverrideAudit.objects.filter(ads_content=row).count() == 1
    record_figure("writes", case="answer cut mid-body", attempts=2, applied=1, audits=1)


def test_a_sync_page_cut_mid_body_is_retried(world):
    """A list page whose body breaks off is retried like any other missing answer."""
    from tests.reliability.helpers import mirror_diff

    with TruncatingProxy(world, cut={"GET": {2, 5, 9}}) as proxy:
        client = fast_client(proxy, small_pages=True)
        result = layers_sync(client=client)
        assert proxy.cuts == 3
    assert result.ok, result.errors
    assert result.run.retries >= 3
    assert mirror_diff(world).clean
