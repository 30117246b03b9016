"""Admin: support reads what arrived (changelist, search, filter, detail); nobody edits it; a
hostile payload is shown escaped."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from tests.conftest import grant
from webhooks.models import PendingRefetch, WebhookEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(client, django_user_model):
    user = django_user_model.objects.create_user(username="sue", password="x", is_staff=True)
    grant(user, "view_webhookevent", "view_pendingrefetch")
    client.force_login(user)
    return user


@pytest.fixture
def arrived():
    return WebhookEvent.objects.create(
        event_id="evt_01J0ADMIN0000000000000000",
        event_type="content.generated",
        last_received_at=timezone.now(),
        status="failed",
        container_id="cnt_x",
        project_id="prj_y",
        refetch_kind="container",
        error="LayersAPIError: <script>alert(1)</script>",
        payload={"data": {"caption": "<img src=x onerror=alert(1)>"}},
    )


def test_support_group_may_view_webhook_events():
    """The data migration grants the view permissions to the Support group (when it exists)."""
    group = Group.objects.filter(name="Support").first()
    if group is None:
        pytest.skip("no Support group in this database (a transactional test flushed it)")
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {"view_webhookevent", "view_pendingrefetch"} <= codenames


def test_changelist_search_filter_and_detail(client, support, arrived):
    url = reverse("admin:webhooks_webhookevent_changelist")
    page = client.get(url)
    assert page.status_code == 200 and arrived.event_id in page.content.decode()
    assert client.get(url, {"q": arrived.event_id}).status_code == 200
    assert arrived.event_id in client.get(url, {"q": "cnt_x"}).content.decode()
    filtered = client.get(url, {"status": "processed"}).content.decode()
    assert arrived.event_id not in filtered
    assert client.get(url, {"status": "' OR 1=1"}).status_code == 200
    detail = client.get(reverse("admin:webhooks_webhookevent_change", args=[arrived.pk]))
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body
    assert "<img src=x" not in body and "&lt;img src=x" in body
    assert 'name="event_id"' not in body  # read-only: no form field


def test_nobody_adds_or_edits_events(client, admin_user, arrived):
    client.force_login(admin_user)
    assert client.get(reverse("admin:webhooks_webhookevent_add")).status_code == 403
    change = reverse("admin:webhooks_webhookevent_change", args=[arrived.pk])
    client.post(change, {"status": "processed"})
    arrived.refresh_from_db()
    assert arrived.status == "failed"


def test_pending_refetches_are_listed(client, support):
    PendingRefetch.objects.create(
        kind="project", target_key="abc", target_id="prj_abc", enqueued_at=timezone.now()
    )
    page = client.get(reverse("admin:webhooks_pendingrefetch_changelist"))
    assert page.status_code == 200 and "prj_abc" in page.content.decode()


def test_without_the_permission_nothing_is_shown(client, django_user_model, arrived):
    user = django_user_model.objects.create_user(username="amy", password="x", is_staff=True)
    client.force_login(user)
    url = reverse("admin:webhooks_webhookevent_changelist")
    assert client.get(url).status_code == 403
