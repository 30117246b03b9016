"""Content review in a real browser: the "Needs review" queue, approve (confirmed) and reject
(with a reason) in place through htmx, under the strict CSP. Screenshots at 1440 and 390 px.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from creatives.models import ContentContainer, ContentReviewAudit
from projects.models import Project
from tests.browser.conftest import PASSWORD, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager(django_user_model, synced):
    """An account manager of the active project with the most pending content."""
    user = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, first_name="Maria", last_name="Manager"
    )
    projects = Project.objects.filter(status="active")
    project = max(projects, key=lambda p: p.containers.filter(approval_status="pending").count())
    project.account_managers.add(user)
    return user, project


def test_approve_and_reject_from_the_queue(page, live, manager, synced):
    user, project = manager
    login(page, live.url, "maria")
    page.click("text=Needs review")  # the site's navigation: every project of mine
    page.wait_for_url("**/review/")
    page.goto(f"{live.url}/projects/{project.layers_id}/review/")
    cards = page.locator("#review-queue .tile")
    assert cards.count() >= 2
    expect(page.locator("#review-queue .tile img").first).to_be_visible()
    screenshot(page, "review-01-queue-1440")

    first, second = cards.nth(0), cards.nth(1)
    first_id = first.locator("[data-review=approve]").get_attribute("formaction").split("/")[-3]
    second_id = second.locator("[data-review=reject]").get_attribute("formaction").split("/")[-3]
    # Issue 16: the items carry buttons only; the page has one dialog.
    assert page.locator("#review-queue .tile form, #review-queue .tile textarea").count() == 0
    dialog = page.locator("#review-dialog")

    # Approve asks first: nothing is sent until "Yes, approve" inside the dialog.
    first.locator("[data-review=approve]").click()
    expect(dialog).to_be_visible()
    expect(dialog.locator("text=Approval cannot be undone")).to_be_visible()
    expect(dialog.locator("[data-rvd-name]")).not_to_be_empty()
    expect(dialog.locator("textarea[name=text]")).to_be_focused()
    dialog.locator("textarea[name=text]").fill("Looks on brand.")
    screenshot(page, "review-04-dialog-1440")
    dialog.locator("button", has_text="Yes, approve").click()
    expect(first.locator(".confirm")).to_contain_text("Approved.")
    expect(dialog).to_be_hidden()
    expect(first.locator("[data-review]")).to_have_count(0)

    # Reject asks for a reason: an empty one is refused by the browser, then sent.
    second.locator("[data-review=reject]").click()
    expect(dialog.locator("text=Approval cannot be undone")).to_be_hidden()
    dialog.locator("button", has_text="Reject").click()
    expect(dialog).to_be_visible()  # required: the browser kept it open, nothing sent
    dialog.locator("textarea[name=text]").fill("Wrong logo colour <b>")
    dialog.locator("button", has_text="Reject").click()
    expect(second.locator(".confirm")).to_contain_text("Rejected.")
    screenshot(page, "review-02-decided-1440")

    approved = ContentContainer.objects.get(project=project, layers_id=first_id)
    rejected = ContentContainer.objects.get(project=project, layers_id=second_id)
    assert approved.approval_status == "approved"
    assert rejected.approval_status == "rejected"
    store = synced.store
    assert store.get_container(store.org1.id, first_id).approval == "approved"
    assert store.get_container(store.org1.id, second_id).approval == "rejected"
    audits = ContentReviewAudit.objects.filter(user=user, outcome="succeeded")
    assert sorted(audits.values_list("action", "text")) == [
        ("approve", "Looks on brand."),
        ("reject", "Wrong logo colour <b>"),
    ]

    # The phone layout: the queue after a reload (the decided two are gone).
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.locator(f"[formaction*='{first_id}']").count() == 0
    screenshot(page, "review-03-queue-390")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at 390 px ({width} px wide)"
    page.locator("#review-queue .tile").first.locator("[data-review=reject]").click()
    expect(dialog).to_be_visible()
    screenshot(page, "review-05-dialog-390")
    box = dialog.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(
        page.locator("#review-queue .tile").first.locator("[data-review=reject]")
    ).to_be_focused()
