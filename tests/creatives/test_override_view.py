"""The one-click override (POST) against the sandbox over HTTP: the row swaps in place on
success, stays as it was on a refusal or no answer (with code and request id), and the local
audit records every attempt. Also the live leaderboard refresh, which shares its path."""

from __future__ import annotations

import re

import pytest
import requests
from django.core.cache import cache
from django.test import Client

from creatives.models import AdsContent, LeaderboardSnapshot, OverrideAudit
from projects.models import Project
from tests.conftest import grant

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def faults(server, **body):
    requests.post(f"{server.root_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()


@pytest.fixture(autouse=True)
def _fresh_customer_confirmations():
    cache.clear()  # the customer-scoping confirmation is cached for a minute
    yield
    cache.clear()


@pytest.fixture
def editor(client, user):
    grant(user, "change_override")
    client.force_login(user)
    return user


def assign(user, row: AdsContent) -> None:
    Project.objects.get(pk=row.project_id).account_managers.add(user)


def pick(**filters) -> AdsContent:
    return (
        AdsContent.objects.filter(project__status="active", is_gone=False, **filters)
        .select_related("project")
        .order_by("layers_id")
        .first()
    )


def url(row: AdsContent) -> str:
    return f"/projects/{row.project.layers_id}/creatives/{row.layers_id}/override/"


def post(client, row, override, note="", token="tok-1", headers=HX, **extra):
    # An exclude is sent confirmed (the dialog's Exclude): asking first is
    # tests/creatives/test_override_safety.py's subject.
    if override == "exclude":
        extra.setdefault("confirmed", "exclude")
    data = {"override": override, "note": note, "form_token": token, **extra}
    return client.post(url(row), data, **headers)


def html(response) -> str:
    return response.content.decode()


def test_include_with_a_note_swaps_the_row_from_the_apis_answer(synced, client, editor):
    row = pick(override="", organic_score__lt=4.0)
    assign(editor, row)
    response = post(client, row, "include", note="Seasonal <hero>")
    page = html(response)
    assert response.status_code == 200 and "HX-Request" in response["Vary"]
    assert page.lstrip().startswith(f'<tr id="creative-{row.pk}"') and "<html" not in page
    assert "Included" in page and "Seasonal &lt;hero&gt;" in page
    assert 'role="status"' in page and "Layers confirmed the change (request req_" in page
    assert f"by {editor.username} via layersadmin" in page
    row.refresh_from_db()
    assert (row.override, row.override_note, row.is_eligible) == (
        "include",
        "Seasonal <hero>",
        True,
    )
    audit = OverrideAudit.objects.get()
    assert (audit.user, audit.outcome, audit.before_override, audit.after_override) == (
        editor,
        "succeeded",
        "",
        "include",
    )
    assert audit.note == "Seasonal <hero>" and audit.idempotency_key
    assert audit.request_id.startswith("req_") and audit.source == "dashboard"


def test_clear_and_exclude(synced, client, editor):
    row = pick(override="include")
    assign(editor, row)
    assert "Override cleared" in html(post(client, row, "clear", token="a"))
    row.refresh_from_db()
    assert row.override == "" and row.override_set_by == ""
    assert "Excluded" in html(post(client, row, "exclude", note="Legal", token="b"))
    row.refresh_from_db()
    assert (row.override, row.is_eligible) == ("exclude", False)


def test_the_detail_page_panel_swaps_with_its_history(synced, client, editor):
    row = pick(override="")
    assign(editor, row)
    page = html(post(client, row, "exclude", note="Music", fragment="panel"))
    assert page.lstrip().startswith('<section id="override-panel"')
    assert "Music" in page and "Succeeded" in page


def test_without_javascript_it_redirects_back_with_a_message(synced, client, editor):
    row = pick(override="")
    assign(editor, row)
    back = f"/projects/{row.project.layers_id}/creatives/?minScore=1"
    response = post(client, row, "include", headers={}, next=back)
    assert response.status_code == 302 and response["Location"] == back
    page = html(client.get(back))
    assert "Layers confirmed the change" in page
    row.refresh_from_db()
    assert row.override == "include"


@pytest.mark.parametrize("bad", ["https://evil.example/", "//evil.example/x", "/x\x00y", "/a\nb"])
def test_an_offsite_or_broken_next_is_ignored(synced, client, editor, bad):
    row = pick(override="")
    assign(editor, row)
    response = post(client, row, "include", headers={}, next=bad, token=bad)
    assert response["Location"] == f"/projects/{row.project.layers_id}/creatives/"


def test_a_double_submit_sends_one_change(synced, client, editor):
    row = pick(override="")
    assign(editor, row)
    first = post(client, row, "exclude", note="dup", token="same-form")
    second = post(client, row, "exclude", note="dup", token="same-form")
    assert first.status_code == second.status_code == 200
    assert "already sent" in html(second)
    assert OverrideAudit.objects.count() == 1


def test_a_different_change_while_one_is_in_flight_is_refused(synced, client, editor):
    row = pick(override="")
    assign(editor, row)
    OverrideAudit.objects.create(
        user=editor,
        project=row.project,
        ads_content=row,
        after_override="include",
        idempotency_key="in-flight",
    )
    response = post(client, row, "exclude", token="other-form")
    assert response.status_code == 409 and "OVERRIDE_IN_PROGRESS" in html(response)
    row.refresh_from_db()
    assert row.override == ""


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"override": "include", "note": "x" * 281}, "at most 280"),
        ({"override": "maybe"}, "Choose include, exclude or clear."),
        ({"override": ""}, "Choose include, exclude or clear."),
        ({}, "Choose include, exclude or clear."),
        ({"override": "include", "note": "a\x00b"}, "Null characters are not allowed"),
        ({"override": "include", "form_token": "<script>"}, "Reload the page"),
    ],
)
def test_bad_input_gives_a_message_and_sends_nothing(synced, client, editor, data, message):
    row = pick(override="")
    assign(editor, row)
    before = AdsContent.objects.values().get(pk=row.pk)
    response = client.post(url(row), data, **HX)
    assert response.status_code == 422 and message in html(response)
    assert 'role="alert"' in html(response) and f'<tr id="creative-{row.pk}"' in html(response)
    if "note" in data and len(data["note"]) > 280:
        assert "x" * 281 in html(response)  # what was typed is kept
    no_js = client.post(url(row), data)
    assert no_js.status_code == 302
    assert message in html(client.get(no_js["Location"]))
    assert not OverrideAudit.objects.exists()
    assert AdsContent.objects.values().get(pk=row.pk) == before


def test_a_project_archived_upstream_is_refused_in_plain_words_and_stored(
    sandbox_factory, settings, client, editor
):
    """Our copy still says active; Layers answers 409 CONFLICT naming the archived status: the
    row stays, the page says why (not a 502), and the project is stored as archived."""
    server = sandbox_factory(projects=4, creatives_per_project=10)
    settings.LAYERS_API_BASE_URL, settings.LAYERS_API_KEY = server.base_url, server.keys["main"]
    from sync.services import layers_sync

    assert layers_sync().ok
    row = AdsContent.objects.filter(project__status="archived", override="").select_related(
        "project"
    )[0]
    Project.objects.filter(pk=row.project_id).update(status="active")  # not synced since
    assign(editor, row)
    response = post(client, row, "include", note="try")
    page = html(response)
    assert response.status_code == 409
    assert "this project is archived, so its overrides are locked" in page
    assert re.search(r"Layers request req_\w+", page)
    assert f'<tr id="creative-{row.pk}"' in page and 'role="alert"' in page
    assert ">none<" in page  # still no override
    assert "Locked: the project is archived." in page  # and no buttons any more
    row.refresh_from_db()
    assert row.override == "" and row.project.status == "archived"
    audit = OverrideAudit.objects.get()
    assert (audit.outcome, audit.error_code) == ("failed", "CONFLICT")


def test_server_errors_leave_the_row_and_audit_failed(synced, client, editor):
    row = pick(override="")
    assign(editor, row)
    post(client, row, "include", token="warm")  # confirms the customer (cached)
    faults(synced, rate=0, next=["500"] * 6)
    response = post(client, row, "exclude", token="fails")
    assert response.status_code == 502 and "code INTERNAL" in html(response)
    assert "request req_" in html(response)
    row.refresh_from_db()
    assert row.override == "include"
    assert OverrideAudit.objects.latest("id").outcome == "failed"


def test_no_answer_is_unknown(synced, client, editor, settings):
    settings.LAYERS_API_MAX_ATTEMPTS = 2
    row = pick(override="")
    assign(editor, row)
    faults(synced, rate=0, next=["drop_before"] * 4)
    response = post(client, row, "include")
    assert response.status_code == 504
    assert "may or may not have been applied" in html(response)
    assert OverrideAudit.objects.get().outcome == "unknown"


def test_the_permission_is_needed(synced, client, user):
    client.force_login(user)
    row = pick(override="")
    assign(user, row)
    assert post(client, row, "include").status_code == 403
    assert not OverrideAudit.objects.exists()


def test_csrf_is_enforced(synced, user):
    grant(user, "change_override")
    row = pick(override="")
    assign(user, row)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert post(strict, row, "include").status_code == 403
    page = html(strict.get(f"/projects/{row.project.layers_id}/creatives/"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = post(strict, row, "include", csrfmiddlewaretoken=token)
    assert response.status_code == 200


def test_only_post(synced, client, editor):
    row = pick(override="")
    assign(editor, row)
    assert client.get(url(row)).status_code == 405


# --- live leaderboard refresh -------------------------------------------------------------------


def refresh(client, project, headers=HX, **data):
    return client.post(f"/projects/{project.layers_id}/leaderboard/refresh/", data, **headers)


def test_refresh_fetches_live_and_stores_a_snapshot(synced, client, editor):
    project = Project.objects.filter(status="active").first()
    project.account_managers.add(editor)
    before = LeaderboardSnapshot.objects.count()
    response = refresh(client, project, metric="views", window="7d", limit="10")
    page = html(response)
    assert response.status_code == 200 and 'id="leaderboard-results"' in page
    assert "a new snapshot was stored" in page and "<html" not in page
    assert LeaderboardSnapshot.objects.count() == before + 1
    assert page.count('class="num rank"') == 10
    again = html(refresh(client, project, metric="views", window="7d", limit="10"))
    assert "nothing changed" in again and LeaderboardSnapshot.objects.count() == before + 1
    # The page now serves it from the store.
    stored = html(client.get(f"/projects/{project.layers_id}/leaderboard/?window=7d&limit=10"))
    assert stored.count('class="num rank"') == 10


def test_the_apis_validation_error_shows_next_to_the_controls(synced, client, editor):
    project = Project.objects.filter(status="active").first()
    project.account_managers.add(editor)
    before = LeaderboardSnapshot.objects.count()
    response = refresh(client, project, metric="roas", sourceType="platform_post")
    page = html(response)
    assert response.status_code == 422 and 'role="alert"' in page
    assert "Not available for this mix" in page and "requires paid data" in page
    assert "code VALIDATION" in page and "Declined by Layers" in page
    assert LeaderboardSnapshot.objects.count() == before + 1
    assert LeaderboardSnapshot.objects.filter(declined=True).count() == 1
    no_js = refresh(client, project, headers={}, metric="roas", sourceType="platform_post")
    assert (
        no_js.status_code == 422 and "<html" in html(no_js) and "requires paid data" in html(no_js)
    )


def test_refresh_without_javascript_redirects_to_the_board(synced, client, editor):
    project = Project.objects.filter(status="active").first()
    project.account_managers.add(editor)
    response = refresh(client, project, headers={}, metric="roas", window="90d")
    assert response.status_code == 302
    assert response["Location"].endswith("/leaderboard/?metric=roas&window=90d")
    assert "Fetched live" in html(client.get(response["Location"]))


def test_refresh_when_layers_does_not_answer(synced, client, editor, settings):
    settings.LAYERS_API_MAX_ATTEMPTS = 2
    project = Project.objects.filter(status="active").first()
    project.account_managers.add(editor)
    faults(synced, rate=0, next=["drop_before"] * 4)
    response = refresh(client, project, metric="views")
    assert response.status_code == 504 and "No answer from Layers" in html(response)


def test_refresh_with_nonsense_controls_sends_nothing(synced, client, editor):
    project = Project.objects.filter(status="active").first()
    project.account_managers.add(editor)
    response = refresh(client, project, metric="bogus", limit="-4")
    assert response.status_code == 422 and "Fix the controls first" in html(response)


def test_a_long_throttle_gives_up_at_once_and_changes_nothing(
    sandbox_factory, settings, editor, client
):
    """A person never waits past the web timeout: a 429 asking for longer than
    LAYERS_INTERACTIVE_MAX_WAIT ends the request with "Layers is busy", nothing changed."""
    server = sandbox_factory(projects=2, creatives_per_project=10)
    settings.LAYERS_API_BASE_URL, settings.LAYERS_API_KEY = server.base_url, server.keys["main"]
    from sync.services import layers_sync

    assert layers_sync().ok
    row = pick(override="")
    assign(editor, row)
    faults(server, rate=0, next=["429"])  # a burst of 429s with Retry-After
    settings.LAYERS_INTERACTIVE_MAX_WAIT = 0.5  # shorter than the 1 s the sandbox asks for
    response = post(client, row, "include", note="now")
    page = html(response)
    assert response.status_code == 429
    assert "Layers is busy: nothing was changed, try again in" in page
    audit = OverrideAudit.objects.get()
    assert (audit.outcome, audit.error_code) == ("failed", "BUSY")
    row.refresh_from_db()
    assert row.override == ""
