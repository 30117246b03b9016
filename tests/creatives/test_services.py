"""The override and leaderboard services against the sandbox over HTTP."""

from __future__ import annotations

import uuid

import pytest
import requests
from django.core.exceptions import ValidationError

from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot, OverrideAudit
from creatives.services import (
    OverrideInProgress,
    ProjectArchived,
    creative_display_refresh,
    creative_override_set,
    leaderboard_refresh,
)
from layersadmin.layers import (
    CustomerMismatch,
    LayersAPIError,
    LayersOutcomeUnknown,
    LayersUnavailable,
)
from layersadmin.layers.errors import CustomerMissingUpstream
from layersadmin.layers.ids import id_key
from projects.models import Project
from sync.services import layers_sync

pytestmark = pytest.mark.django_db


def faults(server, **body):
    requests.post(f"{server.root_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


def audit_events(server, project_id: str) -> list[dict]:
    response = requests.get(
        f"{server.base_url}/audit-log",
        params={"projectId": project_id, "limit": 200},
        headers={"Authorization": f"Bearer {server.keys['main']}"},
        timeout=5,
    )
    return response.json()["items"]


def active_row(**filters) -> AdsContent:
    return (
        AdsContent.objects.filter(project__status="active", is_gone=False, **filters)
        .select_related("project")
        .first()
    )


def test_include_below_threshold_updates_row_from_the_api_and_audits(synced, user):
    row = active_row(override="", organic_score__lt=4.0)
    score = row.organic_score
    eligible_before = row.project.eligible_count
    result = creative_override_set(ads_content=row, user=user, override="include", note="Hero")
    row.refresh_from_db()
    assert (row.override, row.override_note, row.is_eligible) == ("include", "Hero", True)
    row.project.refresh_from_db()
    assert row.project.eligible_count == eligible_before + 1  # the project list's figure
    assert row.organic_score == score  # the override never changes the score
    assert row.override_set_by.startswith("lp_test_")  # as the API returned it
    audit = result.audit
    assert audit.outcome == "succeeded" and audit.user == user
    assert (audit.before_override, audit.after_override, audit.note) == ("", "include", "Hero")
    assert audit.request_id.startswith("req_") and audit.idempotency_key


def test_clear_sends_null_and_restores_score_based_eligibility(synced, user):
    row = active_row(override="", organic_score__gte=4.0)
    creative_override_set(ads_content=row, user=user, override="exclude")
    row.refresh_from_db()
    assert row.is_eligible is False
    creative_override_set(ads_content=row, user=user, override="")
    row.refresh_from_db()
    assert row.override == "" and row.is_eligible is True


def test_refused_patch_leaves_the_cache_unchanged_and_audit_says_failed(synced, user):
    row = active_row(override="")
    before = AdsContent.objects.values().get(pk=row.pk)
    faults(synced, rate=0, next=["500", "500", "500", "500", "500", "500", "500"])
    with pytest.raises((LayersAPIError, LayersUnavailable)):
        creative_override_set(ads_content=row, user=user, override="exclude", note="n")
    assert AdsContent.objects.values().get(pk=row.pk) == before
    audit = OverrideAudit.objects.get()
    assert audit.outcome in {"failed", "unknown"} and audit.error_code


def test_refusal_is_recorded_with_code_and_request_id(sandbox_factory, settings, user):
    server = sandbox_factory(projects=4, creatives_per_project=10)
    settings.LAYERS_API_BASE_URL, settings.LAYERS_API_KEY = server.base_url, server.keys["main"]
    assert layers_sync().ok
    # The sandbox answers 409 CONFLICT to an override on an archived project; our copy still
    # says active (archived since the last sync), so the PATCH is sent and refused.
    target = AdsContent.objects.filter(project__status="archived").select_related("project")[0]
    Project.objects.filter(pk=target.project_id).update(status="active")
    target.project.status = "active"
    with pytest.raises(ProjectArchived) as info:
        creative_override_set(ads_content=target, user=user, override="include")
    assert info.value.code == "CONFLICT" and info.value.request_id.startswith("req_")
    audit = OverrideAudit.objects.get()
    assert (audit.outcome, audit.error_code) == ("failed", "CONFLICT")
    assert audit.request_id.startswith("req_")
    target.refresh_from_db()
    assert target.override == ""
    assert target.project.status == "archived"  # stored as the API said


def test_dropped_connection_after_apply_is_retried_and_applied_once(synced, user):
    row = active_row(override="")
    project_id = row.project.layers_id
    before = len(audit_events(synced, project_id))
    # Warm the customer-scoping cache so the drop hits the PATCH itself.
    creative_override_set(ads_content=row, user=user, override="include", note="first")
    faults(synced, rate=0, next=["drop_after"])
    creative_override_set(ads_content=row, user=user, override="exclude", note="legal")
    events = audit_events(synced, project_id)
    assert len(events) - before == 2  # include, then exactly one exclude
    row.refresh_from_db()
    assert row.override == "exclude"
    assert OverrideAudit.objects.filter(outcome="succeeded").count() == 2


def test_no_answer_at_all_is_unknown_not_failed(synced, user, settings):
    settings.LAYERS_API_MAX_ATTEMPTS = 2
    row = active_row(override="")
    faults(synced, rate=0, next=["drop_before"] * 4)
    with pytest.raises((LayersOutcomeUnknown, LayersUnavailable)):
        creative_override_set(ads_content=row, user=user, override="include")
    assert OverrideAudit.objects.get().outcome == "unknown"


def test_same_form_twice_sends_one_change(synced, user):
    row = active_row(override="")
    first = creative_override_set(
        ads_content=row, user=user, override="include", note="x", form_token="tok-1"
    )
    second = creative_override_set(
        ads_content=row, user=user, override="include", note="x", form_token="tok-1"
    )
    assert second.replayed and second.audit.pk == first.audit.pk
    assert len(audit_events(synced, row.project.layers_id)) >= 1
    assert OverrideAudit.objects.count() == 1


def test_a_different_change_while_one_is_in_flight_is_refused(synced, user):
    row = active_row(override="")
    OverrideAudit.objects.create(
        user=user,
        project=row.project,
        ads_content=row,
        after_override="include",
        idempotency_key="in-flight",
    )
    with pytest.raises(OverrideInProgress):
        creative_override_set(ads_content=row, user=user, override="exclude")


@pytest.mark.parametrize(
    ("override", "note", "field"),
    [("maybe", "", "override"), ("include", "x" * 281, "note"), (5, "", "override")],
)
def test_bad_input_is_refused_before_anything_is_sent(synced, user, override, note, field):
    row = active_row()
    with pytest.raises(ValidationError) as info:
        creative_override_set(ads_content=row, user=user, override=override, note=note)
    assert field in info.value.message_dict
    assert not OverrideAudit.objects.exists()


def test_customer_changed_upstream_refuses_the_write(synced, user):
    row = active_row(override="")
    Project.objects.filter(pk=row.project_id).update(customer_external_id="someone-else")
    row.project.refresh_from_db()
    with pytest.raises(CustomerMismatch):
        creative_override_set(ads_content=row, user=user, override="include")
    assert OverrideAudit.objects.get().outcome == "failed"
    row.refresh_from_db()
    assert row.override == ""


def test_leaderboard_refresh_stores_a_snapshot_only_when_it_changed(synced):
    project = Project.objects.filter(status="active").first()
    count = LeaderboardSnapshot.objects.count()
    snap, created = leaderboard_refresh(project=project, metric="views", window="30d")
    assert not created and LeaderboardSnapshot.objects.count() == count
    snap, created = leaderboard_refresh(project=project, metric="views", window="7d")
    assert created and snap.items == sorted(snap.items, key=lambda i: i["rank"])
    ranked = [i["metricValue"] for i in snap.items]
    assert ranked == sorted(ranked, reverse=True)


def test_a_board_the_api_declines_is_stored_as_declined_with_its_message(synced):
    project = Project.objects.filter(status="active").first()
    snap, created = leaderboard_refresh(
        project=project, metric="roas", source_types=["platform_post"]
    )
    assert created and snap.declined and snap.items == []
    assert "requires paid data" in snap.declined_message  # the API's own words (seed 000)
    again, created = leaderboard_refresh(
        project=project, metric="roas", source_types=["platform_post"]
    )
    assert not created and again.pk == snap.pk  # declined again: nothing new stored


def _customer_upstream(server, project, value):
    """Set (or clear) the project's customerExternalId upstream, through the API."""
    response = requests.patch(
        f"{server.base_url}/projects/{project.layers_id}",
        json={"customerExternalId": value},
        headers={"Authorization": f"Bearer {server.keys['main']}"},
        timeout=5,
    )
    assert response.status_code == 200, response.text


def test_customer_missing_upstream_is_its_own_refusal(synced, user):
    row = active_row(override="")
    _customer_upstream(synced, row.project, None)
    with pytest.raises(CustomerMissingUpstream) as info:
        creative_override_set(ads_content=row, user=user, override="include")
    assert info.value.code == "CUSTOMER_MISSING_UPSTREAM" and "no customer id upstream" in str(
        info.value
    )
    audit = OverrideAudit.objects.get()
    assert (audit.outcome, audit.error_code) == ("failed", "CUSTOMER_MISSING_UPSTREAM")


def test_customer_different_upstream_is_a_mismatch_not_missing(synced, user):
    row = active_row(override="")
    _customer_upstream(synced, row.project, "acme-other")
    with pytest.raises(CustomerMismatch) as info:
        creative_override_set(ads_content=row, user=user, override="include")
    assert not isinstance(info.value, CustomerMissingUpstream)
    assert "acme-other" in info.value.message


def test_no_customer_on_either_side_goes_ahead_unconfirmed(synced, user):
    row = active_row(override="")
    _customer_upstream(synced, row.project, None)
    Project.objects.filter(pk=row.project_id).update(customer_external_id="")
    row.project.refresh_from_db()
    result = creative_override_set(ads_content=row, user=user, override="include")
    assert result.audit.outcome == "succeeded"
    assert result.audit.customer_check == OverrideAudit.CustomerCheck.UNCONFIRMED


def test_confirmed_customer_is_recorded_on_the_audit(synced, user):
    row = active_row(override="")
    assert row.project.customer_external_id
    result = creative_override_set(ads_content=row, user=user, override="include")
    assert result.audit.customer_check == OverrideAudit.CustomerCheck.CONFIRMED


def test_idempotency_key_is_a_fresh_v4_per_form_and_body(synced, user):
    row = active_row(override="")
    first = creative_override_set(
        ads_content=row, user=user, override="include", note="a", form_token="form-1"
    )
    key = uuid.UUID(first.audit.idempotency_key)
    assert key.version == 4
    # The same form with a changed note is another operation: another key.
    changed = creative_override_set(
        ads_content=row, user=user, override="include", note="b", form_token="form-1"
    )
    assert changed.audit.idempotency_key != first.audit.idempotency_key
    # Two forms with the same body are two operations too (never derived from the body).
    other = creative_override_set(
        ads_content=row, user=user, override="include", note="b", form_token="form-2"
    )
    assert other.audit.idempotency_key not in {
        first.audit.idempotency_key,
        changed.audit.idempotency_key,
    }


def test_a_resubmitted_form_after_an_unknown_outcome_reuses_its_key(synced, user, settings):
    settings.LAYERS_API_MAX_ATTEMPTS = 2
    row = active_row(override="")
    creative_override_set(ads_content=row, user=user, override="exclude", note="warm")
    before = len(audit_events(synced, row.project.layers_id))
    faults(synced, rate=0, next=["drop_after", "drop_after"])
    with pytest.raises((LayersOutcomeUnknown, LayersUnavailable)):
        creative_override_set(
            ads_content=row, user=user, override="include", note="retry", form_token="f-9"
        )
    unknown = OverrideAudit.objects.get(form_token="f-9")
    assert unknown.outcome == "unknown"
    again = creative_override_set(
        ads_content=row, user=user, override="include", note="retry", form_token="f-9"
    )
    assert again.audit.idempotency_key == unknown.idempotency_key
    assert again.audit.outcome == "succeeded"
    events = audit_events(synced, row.project.layers_id)
    assert len(events) - before == 1  # applied once, however often it was sent
    assert events[0]["data"]["after"] == "include" and events[0]["data"]["note"] == "retry"


def test_the_display_title_follows_its_sources(synced):
    row = active_row(container__isnull=False)
    container = row.container
    assert row.title == container.caption.splitlines()[0].strip()[:500]
    ContentContainer.objects.filter(pk=container.pk).update(caption="")
    creative_display_refresh(project=row.project)
    row.refresh_from_db()
    boards = {
        id_key(i.get("adsContentId")): i.get("title")
        for s in LeaderboardSnapshot.objects.filter(project=row.project)
        for i in s.items
    }
    assert row.title == (boards.get(row.key) or "")  # next source: a leaderboard row, or none
    AdsContent.objects.filter(pk=row.pk).update(raw={**row.raw, "title": "Own title"})
    creative_display_refresh(project=row.project, keys=[row.key])
    row.refresh_from_db()
    assert row.title == "Own title"  # the row's own title comes first
