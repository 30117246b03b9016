"""Browser fixtures: pages against pytest-django's live server (the Chromium session fixtures
``chromium_path`` and ``browser`` live in tests/browser/fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PASSWORD = "pw-browser-2026-secret"


@pytest.fixture
def live(layers, live_server):
    """The live server. The sandbox runs on a free port; the CSP allows its media because it
    follows LAYERS_API_BASE_URL, which ``layers`` points at the sandbox."""
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


# Playwright hides the caret for a screenshot and leaves style="" on the inputs; htmx then
# settles that attribute onto swapped-in elements of the same id (attributesToSettle), which
# the strict CSP reports. The page itself never writes a style attribute: drop the leftovers.
UNDO_SCREENSHOT = (
    "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
)


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    page.evaluate(UNDO_SCREENSHOT)
    return path
