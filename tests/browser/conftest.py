"""Browser fixtures: Debian's Chromium driven by Playwright, against pytest-django's live server.

Outside CI the browser tests skip when /usr/bin/chromium is missing; in CI (``CI=true``) a
missing browser fails them, so they can never silently stop running.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PASSWORD = "pw-browser-2026-secret"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    if _in_ci():
        pytest.fail(f"Chromium is required in CI but {CHROMIUM} is missing (see .ci/run).")
    pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); browser tests skipped")


@pytest.fixture(scope="session")
def browser(chromium_path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if _in_ci():
            raise
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    # Playwright's sync API keeps an asyncio loop running in this thread while the browser is
    # open, which makes Django refuse ORM calls (fixtures, flushes, the test's own checks).
    # They are synchronous calls from a synchronous test, so allow them for that time only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def live(settings, layers, live_server):
    """The live server, with the sandbox's media allowed by the CSP (it runs on a free port)."""
    policy = {**settings.CONTENT_SECURITY_POLICY}
    directives = {key: list(value) for key, value in policy["DIRECTIVES"].items()}
    for name in ("img-src", "media-src"):
        directives[name].append(layers.root_url)
    settings.CONTENT_SECURITY_POLICY = {**policy, "DIRECTIVES": directives}
    return live_server


@pytest.fixture
def page(browser, live):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console: {msg.text}")
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    page.problems = problems
    yield page
    context.close()
    assert not problems, problems  # no script error, nothing the CSP had to block


def login(page, base_url: str, username: str) -> None:
    """Sign in through the real login form (django-axes is on)."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
