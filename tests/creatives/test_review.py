"""Content review (creatives/review.py, creatives/review_views.py) against the sandbox over
real HTTP, in both dialects: approve, reject, 409 after approve, 403 without the scope,
note/reason lengths; and the views: who may, what they are told, the queue page.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse

from creatives.models import ContentContainer, ContentReviewAudit
from creatives.review import content_approve, content_reject, review_problem
from layersadmin.layers import LayersAPIError
from projects.models import Project
from sandbox.dialects import DIALECTS
from sync.services import layers_sync
from tests.conftest import HX, html, make_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The most HTML one queue item may take (issue 16: at most 60 KB per 50 rows): its media
# (a slideshow's slides, one <img> each, are most of it), caption, badges and two buttons.
ITEM_MAX_BYTES = 2_600


@pytest.fixture(params=DIALECTS)
def site(request, sandbox_factory, settings):
    """A sandbox of this dialect, synced; the settings point the dashboard's client at it."""
    server = sandbox_factory(dialect=request.param, projects=2, creatives_per_project=40)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    settings.LAYERS_API_MAX_ATTEMPTS = 3
    settings.LAYERS_API_BACKOFF_BASE = 0.01
    settings.LAYERS_API_TIER = "unlimited"
    client = make_client(server)
    assert layers_sync(client=client).ok
    client.close()
    return server


def pending(n: int = 0) -> ContentContainer:
    rows = ContentContainer.objects.filter(approval_status="pending", is_gone=False)
    return rows.select_related("project").order_by("layers_id")[n]


def upstream(server, container: ContentContainer) -> str:
    c = server.store.get_container(server.store.org1.id, container.layers_id)
    return c.approval


# --- the service --------------------------------------------------------------------------------


def test_approve_audits_calls_and_stores_the_answer(site):
    user = UserFactory()
    row = pending()
    client = make_client(site)
    result = content_approve(
        container=row, user=user, note="  On brand.  ", form_token="t1", client=client
    )
    # One POST, plus the customer confirmation (a GET of the project, cached a minute).
    assert client.stats.calls == 2
    row.refresh_from_db()
    assert row.approval_status == "approved" == upstream(site, row)
    assert row.raw["approvedBy"] and row.raw["approvalStatus"] == "approved"
    audit = result.audit
    assert (audit.action, audit.outcome, audit.text) == ("approve", "succeeded", "On brand.")
    assert audit.before_status == "pending" and audit.after_status == "approved"
    assert audit.request_id.startswith("req_") and len(audit.idempotency_key) == 36
    assert audit.user == user and audit.container == row and audit.completed_at
    assert audit.response_by == row.raw["approvedBy"]
    # The same form again: answered from the audit, no call, applied once.
    again = content_approve(
        container=row, user=user, note="On brand.", form_token="t1", client=client
    )
    assert again.replayed and client.stats.calls == 2
    # Another form: Layers says 409, explained in plain words; audit failed.
    with pytest.raises(LayersAPIError) as caught:
        content_approve(container=row, user=user, form_token="t2", client=client)
    assert caught.value.code == "CONFLICT" and client.stats.calls == 3
    assert "Already approved — approval cannot be undone" in review_problem(caught.value)
    failed = ContentReviewAudit.objects.get(form_token="t2")
    assert (failed.outcome, failed.error_code) == ("failed", "CONFLICT")
    # Reject after approve: 409 too.
    with pytest.raises(LayersAPIError) as caught:
        content_reject(container=row, user=user, reason="no", client=client)
    assert caught.value.code == "CONFLICT"


def test_reject_stores_the_reason(site):
    row = pending()
    result = content_reject(
        container=row, user=None, reason="Wrong logo colour", client=make_client(site)
    )
    row.refresh_from_db()
    assert row.approval_status == "rejected" == upstream(site, row)
    assert row.raw["reason"] == "Wrong logo colour"
    assert result.audit.text == "Wrong logo colour" and result.audit.outcome == "succeeded"


def test_a_stale_row_learns_its_state_from_the_409(site):
    row = pending()
    make_client(site).request(
        "POST", f"/content/{row.layers_id}/approve", json={}, idempotency_key="elsewhere"
    )  # someone approved it in Layers; our row still says pending
    with pytest.raises(LayersAPIError):
        content_reject(container=row, user=None, reason="late", client=make_client(site))
    row.refresh_from_db()
    assert row.approval_status == "approved"


def test_key_without_the_scope(site):
    row = pending()
    client = make_client(site, key="readonly")
    with pytest.raises(LayersAPIError) as caught:
        content_approve(container=row, user=None, client=client)
    assert caught.value.code == "FORBIDDEN_SCOPE"
    words = review_problem(caught.value)
    assert "lacks the content:approve scope; ask an admin for a key with it" in words
    assert ContentReviewAudit.objects.get().error_code == "FORBIDDEN_SCOPE"
    row.refresh_from_db()
    assert row.approval_status == "pending" == upstream(site, row)


def test_note_and_reason_lengths(site):
    row = pending()
    client = make_client(site)
    for kwargs in ({"note": "x" * 1025}, {"note": "\U0001f642" * 513}):
        with pytest.raises(ValidationError):
            content_approve(container=row, user=None, client=client, **kwargs)
    for reason in ("", "   \n", None, "y" * 1025):
        with pytest.raises(ValidationError):
            content_reject(container=row, user=None, reason=reason, client=client)
    assert client.stats.calls == 0 and not ContentReviewAudit.objects.exists()
    # 512 emoji = 1,024 UTF-16 units: the most either dialect takes.
    content_approve(container=row, user=None, note="\U0001f642" * 512, client=client)
    other = pending()
    content_reject(container=other, user=None, reason="z" * 1024, client=client)
    assert ContentReviewAudit.objects.filter(outcome="succeeded").count() == 2


# --- the views ----------------------------------------------------------------------------------


@pytest.fixture
def manager(site, client):
    user = UserFactory(username="maria")
    user.groups.add(Group.objects.get(name="Account managers"))
    project = pending().project
    project.account_managers.add(user)
    client.force_login(user)
    return project


def approve_url(c: ContentContainer) -> str:
    return reverse("content_approve", args=[c.project.layers_id, c.layers_id])


def reject_url(c: ContentContainer) -> str:
    return reverse("content_reject", args=[c.project.layers_id, c.layers_id])


def test_queue_lists_pending_with_buttons_and_escapes(manager, client):
    c = pending()
    ContentContainer.objects.filter(pk=c.pk).update(caption="<script>alert(1)</script> hi")
    page = client.get(reverse("project_review_queue", args=[manager.layers_id]))
    assert page.status_code == 200
    body = html(page)
    count = ContentContainer.objects.filter(project=manager, approval_status="pending").count()
    assert body.count('class="tile"') == count
    assert body.count("Approve…") == count and body.count("Reject…") == count
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "Approval cannot be undone" in body and "<img" in body
    # Issue 16: one dialog per page; each item only its two buttons (no form, no textarea).
    assert body.count('id="review-dialog"') == 1 and body.count("<textarea") == 1
    items = re.findall(r"<article class=\"tile\".*?</article>", body, re.S)
    assert len(items) == count
    for item in items:
        assert "<form" not in item and "<textarea" not in item and "csrfmiddlewaretoken" not in item
        assert len(item.encode()) <= ITEM_MAX_BYTES, item
    assert f'formaction="{approve_url(c)}"' in body and f'formaction="{reject_url(c)}"' in body
    fragment = client.get(reverse("project_review_queue", args=[manager.layers_id]), **HX)
    assert "<html" not in html(fragment) and "HX-Request" in fragment["Vary"]
    # The agency queue: only the manager's projects.
    agency = html(client.get(reverse("agency_review_queue")))
    other = Project.objects.exclude(pk=manager.pk).first()
    assert manager.name in agency and (other is None or other.name not in agency)
    # The gallery offers the buttons on pending cards only.
    gallery = html(client.get(reverse("project_gallery", args=[manager.layers_id])))
    assert (
        gallery.count('data-review="approve"')
        == gallery.count('title="Approval"><span title="raw: pending">Awaiting approval<')
        > 0
    )
    assert gallery.count('id="review-dialog"') == 1 and gallery.count("<textarea") == 1


def test_approve_view_confirms_then_approves(manager, client, site):
    c = pending()
    unconfirmed = client.post(approve_url(c), {"text": "ok"}, **HX)
    assert unconfirmed.status_code == 422 and "Confirm the approval" in html(unconfirmed)
    assert upstream(site, c) == "pending"
    done = client.post(approve_url(c), {"confirm": "yes", "form_token": "f1"}, **HX)
    assert done.status_code == 200, html(done)
    assert "Approved." in html(done) and "Yes, approve" not in html(done)
    assert upstream(site, c) == "approved"
    conflict = client.post(approve_url(c), {"confirm": "yes", "form_token": "f2"}, **HX)
    assert conflict.status_code == 409
    assert "Already approved — approval cannot be undone" in html(conflict)


def test_reject_view_needs_a_reason_and_plain_post_redirects(manager, client, site):
    c = pending()
    missing = client.post(reject_url(c), {"text": "  "}, **HX)
    assert missing.status_code == 422 and "a reason is required" in html(missing)
    assert 'data-ask="reject"' in html(missing)  # review.js reopens the dialog with the error
    plain = client.post(reject_url(c), {"text": "Off brand <b>", "next": "//evil.example/"})
    assert plain.status_code == 302
    assert plain["Location"] == reverse("project_review_queue", args=[c.project.layers_id])
    assert upstream(site, c) == "rejected"
    shown = html(client.get(plain["Location"]))
    assert "Rejected. Layers confirmed it" in shown


def test_who_may_review(site, client, django_user_model):
    c = pending()
    other = UserFactory(username="otto")
    other.groups.add(Group.objects.get(name="Account managers"))
    client.force_login(other)  # a manager of no project: 404, nothing sent
    assert client.post(approve_url(c), {"confirm": "yes"}, **HX).status_code == 404
    assert (
        client.get(reverse("project_review_queue", args=[c.project.layers_id])).status_code == 404
    )
    support = UserFactory(username="sam", is_staff=True)
    support.groups.add(Group.objects.get(name="Support"))
    client.force_login(support)  # support: every project, and the audit in admin (read-only)
    assert client.post(reject_url(c), {"text": "no"}, **HX).status_code == 200
    assert upstream(site, c) == "rejected"
    changelist = client.get(reverse("admin:creatives_contentreviewaudit_changelist"))
    audit = ContentReviewAudit.objects.get()
    assert changelist.status_code == 200 and f"/{audit.pk}/change/" in html(changelist)
    search = {"q": c.layers_id}
    found = client.get(reverse("admin:creatives_contentreviewaudit_changelist"), search)
    assert f"/{audit.pk}/change/" in html(found)
    detail = client.get(reverse("admin:creatives_contentreviewaudit_change", args=[audit.pk]))
    assert detail.status_code == 200 and 'name="_save"' not in html(detail)
    assert client.get("/accounts/login/").status_code == 200
    client.logout()
    assert client.get(reverse("agency_review_queue")).status_code == 302


def test_without_javascript_the_buttons_open_a_page_that_asks(manager, client, site):
    """The item's buttons GET their formaction: a page asking for the note (approve, with the
    warning) or the reason (reject); nothing is sent until its form is; a refused plain POST
    shows that page again with what was typed."""
    c = pending()
    queue = reverse("project_review_queue", args=[c.project.layers_id])
    ask = client.get(approve_url(c), {"next": queue})
    body = html(ask)
    assert ask.status_code == 200 and "Approve this content?" in body
    assert "Approval cannot be undone" in body and 'name="confirm" value="yes"' in body
    assert f'action="{approve_url(c)}"' in body and f'value="{queue}"' in body
    assert upstream(site, c) == "pending" and not ContentReviewAudit.objects.exists()
    reason = html(client.get(reject_url(c), {"next": "//evil.example/"}))
    assert "Reject this content?" in reason and "required" in reason
    assert "evil.example" not in reason
    refused = client.post(reject_url(c), {"text": "x" * 1025, "next": queue})
    assert refused.status_code == 422 and "x" * 1025 in html(refused)
    assert "Layers takes at most 1,024" in html(refused) and upstream(site, c) == "pending"
    done = client.post(reject_url(c), {"text": "Off brand", "form_token": "nojs1", "next": queue})
    assert done.status_code == 302 and upstream(site, c) == "rejected"
    after = html(client.get(approve_url(c)))
    assert "Nothing to decide" in after and 'name="confirm"' not in after
