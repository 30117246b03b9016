"""Session fixtures for every browser test (dashboard and reliability): Debian's Chromium
driven by Playwright. Registered once in tests/conftest.py, so a single browser serves the whole
session (two Playwright sync loops in one thread cannot coexist).

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
