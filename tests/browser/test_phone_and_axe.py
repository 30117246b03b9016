"""Every page on a phone and through axe-core (issue 16, parts 2 and 3).

- At 390 x 844 every dashboard page is no wider than the viewport, and its tables are cards
  (``assert_fits``); screenshots of each page at 390 and 1440 px land in tests/screenshots/
  (``phone-<page>-390.png``, ``phone-<page>-1440.png``).
- axe-core (vendored, static/vendor/axe-core-*) on every dashboard page (at 1440 px, then at
  390 px: the cards) and every admin page (index, each registered model's changelist, one
  change page per model with a row, both sign-in pages) at 1440 px: no serious or critical
  violation, and each moderate one explained in docs/ACCESSIBILITY.md.

The dashboard pages are the named ones below plus any other GET page the URLconf has (pages
added later are found, not listed by hand; one whose id no sample value fits is printed as
not checked).

Rerun: DEBUG=true .venv/bin/python -m pytest tests/browser/test_phone_and_axe.py -q
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from creatives.models import AdsContent, ContentContainer
from projects.models import Project
from sync.models import TaskRecord
from tests.browser.conftest import (
    ACCESSIBILITY_DOC,
    PASSWORD,
    assert_fits,
    axe_check,
    explained_moderates,
    login,
    screenshot,
)
from tests.conftest import grant
from tests.reliability.urlconf import url_patterns

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}

# Named routes that are not pages a person reads (files, redirects, POST-only actions are
# found by their answer; these are skipped before asking).
NOT_PAGES = {"healthz", "favicon", "logout", "login"}

# Pages other helpers add: checked when they exist (a path, so no name has to be agreed).
OPTIONAL_PATHS = {
    "all_creatives": "/creatives/",
    "alert_settings": "/settings/alerts/",
    "notifications": "/notifications/",
}


@dataclass(frozen=True)
class Page:
    key: str  # the name in screenshots, reports and docs/ACCESSIBILITY.md
    path: str


@pytest.fixture
def site(django_user_model, synced):
    """Maria manages the active project with the most scored creatives (the change column is
    shown: she may override); Root is a superuser for the admin. A task of Maria's."""
    maria = django_user_model.objects.create_user(
        username="maria", password=PASSWORD, first_name="Maria", last_name="Manager"
    )
    grant(maria, "change_override")
    projects = Project.objects.filter(status="active")
    project = max(projects, key=lambda p: p.ads_contents.count())
    project.account_managers.add(maria)
    django_user_model.objects.create_superuser(
        username="root", password=PASSWORD, email="root@example.com"
    )
    creative = (
        AdsContent.objects.filter(project=project, is_gone=False).order_by("-organic_score").first()
    )
    task = TaskRecord.objects.create(
        task_id="00000000-0000-4000-8000-00000000a11e",
        kind=TaskRecord.Kind.SYNC,
        user=maria,
        project_ids=[project.layers_id],
        status="done",
        result={"run_id": None, "status": "succeeded", "counts": {}, "errors": 0},
    )
    container = ContentContainer.objects.filter(project=project).order_by("layers_id").first()
    samples = {
        "project_id": project.layers_id,
        "ads_content_id": creative.layers_id,
        "task_id": task.task_id,
        "container_id": container.layers_id,
    }
    return project, creative, task, samples


DUMMY = {"int": "0", "uuid": "00000000-0000-4000-8000-000000000000", "path": "x"}


def dashboard_pages(project, creative, task, samples) -> tuple[list[Page], list[Page]]:
    """The pages to visit signed in: (the named ones and the optional ones that exist, which
    must open; every other named route, filled with sample values or a dummy id, for the
    browser to keep when it answers a GET with an HTML page: ``html_pages``)."""
    pid = project.layers_id
    required = [
        Page("project_list", reverse("project_list")),
        Page("project_detail", reverse("project_detail", args=[pid])),
        Page("project_gallery", reverse("project_gallery", args=[pid])),
        Page("creative_list", reverse("creative_list", args=[pid])),
        Page("creative_detail", reverse("creative_detail", args=[pid, creative.layers_id])),
        Page("project_leaderboard", reverse("project_leaderboard", args=[pid])),
        Page("agency_leaderboard", reverse("agency_leaderboard")),
        Page("project_review_queue", reverse("project_review_queue", args=[pid])),
        Page("agency_review_queue", reverse("agency_review_queue")),
        Page("task_status", reverse("task_status", args=[task.task_id])),
    ]
    for key, path in OPTIONAL_PATHS.items():
        try:
            match = resolve(path)
        except Resolver404:
            continue
        required.append(Page(match.url_name or key, path))
    known = {p.key for p in required} | NOT_PAGES
    found = []
    for name, route, _pattern in url_patterns():
        if name is None or name in known or route.startswith("admin/") or ":" in name:
            continue
        if name.endswith("export") or route.endswith((".csv", ".ico")):
            continue
        kwargs = {
            key: samples.get(key, DUMMY.get(converter, "x"))
            for converter, key in re.findall(r"<(?:(\w+):)?(\w+)>", route)
        }
        try:
            path = reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue  # a regex route this cannot fill: not a page of the dashboard's
        found.append(Page(name, path))
        known.add(name)
    return required, found


def html_pages(page, base_url: str, pages: tuple[list[Page], list[Page]]) -> list[Page]:
    """The required pages (each must answer 200), then each found route that answers a
    signed-in GET with an HTML page. A found route that does not (a POST-only action's 405, a
    file, a redirect, a 404 for a dummy id) is skipped, and printed: give it a sample value in
    site() to have it checked."""
    required, found = pages
    kept, skipped = [], []
    for p in required:
        answer = page.request.get(base_url + p.path, max_redirects=0)
        assert answer.status == 200, f"{p.key} {p.path}: HTTP {answer.status}"
        kept.append(p)
    for p in found:
        answer = page.request.get(base_url + p.path, max_redirects=0)
        if answer.status == 200 and "text/html" in answer.headers.get("content-type", ""):
            kept.append(p)
        elif answer.status not in (301, 302, 405) and answer.status != 200:
            skipped.append(f"{p.key} {p.path}: HTTP {answer.status}")
    if skipped:
        print(f"not checked (no page at these sample addresses): {skipped}")
    return kept


def admin_pages() -> list[Page]:
    """Admin's index, each registered model's changelist and the change page of its first
    row (when it has one)."""
    pages = [Page("admin:index", reverse("admin:index"))]
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(
            Page(
                f"admin:{info[0]}.{info[1]}:changelist",
                reverse("admin:{}_{}_changelist".format(*info)),
            )
        )
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            pages.append(
                Page(
                    f"admin:{info[0]}.{info[1]}:change",
                    reverse("admin:{}_{}_change".format(*info), args=[row.pk]),
                )
            )
    return pages


def _stale(found: set[tuple[str, str]], scope) -> list[str]:
    """Rows of docs/ACCESSIBILITY.md (in this test's scope) that no page needed."""
    from fnmatch import fnmatch

    return [
        f"`{rule}` on `{pattern}`"
        for rule, pattern, _why in explained_moderates()
        if scope(pattern) and not any(r == rule and fnmatch(w, pattern) for r, w in found)
    ]


def test_every_dashboard_page_fits_a_phone(page, live, site):
    project, creative, task, samples = site
    page.set_viewport_size(PHONE)
    page.goto(f"{live.url}/accounts/login/")
    assert_fits(page)
    screenshot(page, "phone-login-390")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "phone-login-1440")
    login(page, live.url, "maria")
    pages = html_pages(page, live.url, dashboard_pages(project, creative, task, samples))
    assert len(pages) >= 10
    too_wide = []  # every page is looked at (and photographed) before the test says which
    for p in pages:
        page.set_viewport_size(PHONE)
        page.goto(live.url + p.path)
        try:
            assert_fits(page)
        except AssertionError as exc:
            too_wide.append(f"{p.key}: {exc}")
        screenshot(page, f"phone-{p.key}-390")
        page.set_viewport_size(DESKTOP)
        screenshot(page, f"phone-{p.key}-1440")
    assert not too_wide, "\n".join(too_wide)


def test_axe_on_every_dashboard_page(axe_page, live, site):
    project, creative, task, samples = site
    problems: list[str] = []
    found: set[tuple[str, str]] = set()
    axe_page.goto(f"{live.url}/accounts/login/")
    found |= set(axe_check(axe_page, "login", collect=problems))
    login(axe_page, live.url, "maria")
    for p in html_pages(axe_page, live.url, dashboard_pages(project, creative, task, samples)):
        axe_page.set_viewport_size(DESKTOP)
        axe_page.goto(live.url + p.path)
        found |= set(axe_check(axe_page, p.key, collect=problems))
        # The phone layout too (tables as cards): "<page>@390" in docs/ACCESSIBILITY.md.
        axe_page.set_viewport_size(PHONE)
        found |= set(axe_check(axe_page, f"{p.key}@390", collect=problems))
    assert not problems, (
        "axe-core: serious or critical, or moderate and not explained in "
        f"{ACCESSIBILITY_DOC}:\n" + "\n".join(problems)
    )
    stale = _stale(found, lambda pattern: not pattern.startswith("admin"))
    assert not stale, f"{ACCESSIBILITY_DOC.name} explains what no page has any more: {stale}"


def test_axe_on_every_admin_page(axe_page, live, site):
    problems: list[str] = []
    found: set[tuple[str, str]] = set()
    axe_page.goto(f"{live.url}{reverse('admin:login')}")
    found |= set(axe_check(axe_page, "admin:login", collect=problems))
    axe_page.fill("#id_username", "root")
    axe_page.fill("#id_password", PASSWORD)
    axe_page.click("input[type=submit], button[type=submit]")
    axe_page.wait_for_url(f"{live.url}{reverse('admin:index')}")
    pages = admin_pages()
    assert len(pages) > 10
    for p in pages:
        axe_page.goto(live.url + p.path)
        assert axe_page.locator("#content").count() == 1, f"{p.key}: not an admin page"
        found |= set(axe_check(axe_page, p.key, collect=problems))
    assert not problems, (
        "axe-core: serious or critical, or moderate and not explained in "
        f"{ACCESSIBILITY_DOC}:\n" + "\n".join(problems)
    )
    stale = _stale(found, lambda pattern: pattern.startswith("admin"))
    assert not stale, f"{ACCESSIBILITY_DOC.name} explains what no page has any more: {stale}"
