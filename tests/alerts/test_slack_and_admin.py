"""A team's Slack-compatible webhook gets the alerts of its members' projects (HTTP POST
mocked, nothing else), from a task after the commit; its URL is never logged or shown; the
admin pages of the alerts."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
import requests
from django.contrib.auth.models import Group

from alerts import vocabulary as v
from alerts.models import Alert, Notification, TeamAlertChannel
from alerts.services import alerts_evaluate_creatives
from alerts.tasks import alerts_slack_post
from tests.conftest import html
from tests.factories import AdsContentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRET_URL = "https://hooks.slack.com/services/T000/B000/s3cr3t-t0k3n"


@pytest.fixture
def team(manager):
    group = Group.objects.create(name="Team Blue")
    manager.groups.add(group)
    return TeamAlertChannel.objects.create(group=group, slack_webhook_url=SECRET_URL)


@pytest.fixture
def immediate(settings):
    """Tasks run in the calling process at once (LAYERS_TASKS_BACKEND=immediate)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def ok_response():
    response = mock.Mock(status_code=200)
    response.raise_for_status.return_value = None
    return response


def test_opened_alerts_are_posted_after_the_commit(
    project, team, settings, immediate, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://admin.example.com"
    other = ProjectFactory()  # nobody of the team manages it
    AdsContentFactory(project=other, override="include", organic_score=1.0)
    creatives = [
        AdsContentFactory(project=project, override="include", organic_score=1.0, title=t)
        for t in ("<@channel> hi", "two")
    ]
    with mock.patch("requests.Session.post", return_value=ok_response()) as post:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            alerts_evaluate_creatives(project=project)
            alerts_evaluate_creatives(project=other)
            assert post.call_count == 0  # never inside the evaluation's transaction
        assert len(callbacks) == 2
    # The immediate task backend ran each post: one for the team's project, none for other.
    assert post.call_count == 1
    (url,), kwargs = post.call_args
    assert url == SECRET_URL
    text = kwargs["json"]["text"]
    link = f"https://admin.example.com/projects/{project.layers_id}/creatives/?ids="
    assert link in text
    ids = text.split(link)[1].split("|")[0].split("%2C")
    assert sorted(ids) == sorted(c.layers_id for c in creatives)  # exactly those creatives
    assert v.RULE_LABELS[v.INCLUDED_LOW] in text and "2 creatives" in text
    assert "<@channel>" not in text  # titles are not in the message; names are escaped
    assert kwargs["timeout"]


def test_a_failed_post_is_logged_without_the_url(project, team, caplog):
    AdsContentFactory(project=project, override="include", organic_score=1.0)
    alerts_evaluate_creatives(project=project)  # inside the test's transaction: not posted
    ids = list(Alert.objects.values_list("pk", flat=True))
    error = requests.ConnectionError(f"Max retries exceeded with url: {SECRET_URL}")
    with mock.patch("requests.Session.post", side_effect=error), caplog.at_level(logging.INFO):
        summary = alerts_slack_post(alert_ids=ids)
    assert summary == {"channels": 1, "posted": 0, "failed": 1}
    assert "ConnectionError" in caplog.text
    assert "s3cr3t" not in caplog.text and "hooks.slack.com" not in caplog.text
    assert "s3cr3t" not in repr(summary)


def test_with_the_database_backend_the_post_waits_for_a_worker(
    project, team, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    AdsContentFactory(project=project, override="include", organic_score=1.0)
    with (
        mock.patch("requests.Session.post") as post,
        django_capture_on_commit_callbacks(execute=True),
    ):
        alerts_evaluate_creatives(project=project)
    assert post.call_count == 0
    queued = DBTaskResult.objects.get()
    assert queued.task_path == "alerts.tasks.alerts_slack_post_task"
    assert "s3cr3t" not in repr(queued.args_kwargs)


def test_no_channel_no_post(project, django_capture_on_commit_callbacks):
    AdsContentFactory(project=project, override="include", organic_score=1.0)
    with (
        mock.patch("requests.Session.post") as post,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        alerts_evaluate_creatives(project=project)
    assert callbacks == [] and post.call_count == 0


def test_admin_pages(client, project, team, django_user_model):
    AdsContentFactory(project=project, override="include", organic_score=1.0)
    alerts_evaluate_creatives(project=project)
    root = django_user_model.objects.create_superuser("root", "r@example.com", "pw-root-12345")
    client.force_login(root)
    alert = Alert.objects.get()
    for url in (
        "/admin/alerts/alert/",
        "/admin/alerts/alert/?q=Bluebird",
        f"/admin/alerts/alert/{alert.pk}/change/",
        "/admin/alerts/notification/",
        f"/admin/alerts/notification/{Notification.objects.get().pk}/change/",
        "/admin/alerts/alertpreference/",
        "/admin/alerts/projectmute/",
        "/admin/alerts/projectsyncstreak/",
        "/admin/alerts/teamalertchannel/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith("teamalertchannel/"):
            assert "s3cr3t" not in html(response) and "https://hooks.slack.com/…" in html(response)
    assert client.get("/admin/alerts/alert/add/").status_code == 403  # read-only history
    # The channel's own page is where it is edited: the one place the URL is shown.
    assert "s3cr3t" in html(client.get(f"/admin/alerts/teamalertchannel/{team.pk}/change/"))


def test_the_webhook_url_is_not_on_any_dashboard_page(client, manager, project, team):
    AdsContentFactory(project=project, override="include", organic_score=1.0)
    alerts_evaluate_creatives(project=project)
    for url in ("/", "/notifications/", "/settings/alerts/"):
        assert "s3cr3t" not in html(client.get(url))
    assert UserFactory().pk
