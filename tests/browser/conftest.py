"""Browser fixtures: pages against pytest-django's live server (the Chromium session fixtures
``chromium_path`` and ``browser`` live in tests/browser/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PASSWORD = "pw-browser-2026-secret"


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
