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


# --- Phone width and axe-core (issue 16): helpers any browser test may use -------------------

ROOT = Path(__file__).resolve().parents[2]
# Vendored from npm (static/vendor/axe-core-<version>/VERSION says how); no page links it.
AXE_JS = ROOT / "static" / "vendor" / "axe-core-4.14.1" / "axe.min.js"
ACCESSIBILITY_DOC = ROOT / "docs" / "ACCESSIBILITY.md"
BLOCKING_IMPACTS = ("serious", "critical")  # fail, always
EXPLAINED_IMPACTS = ("moderate",)  # fail unless docs/ACCESSIBILITY.md explains them


@pytest.fixture
def axe_page(browser, live):
    """A page whose context bypasses the Content-Security-Policy, so axe-core can be injected
    as an inline script (``axe_check``). Use it for axe only: the CSP itself is checked by the
    ``page`` fixture, which every other browser test uses."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.problems = problems
    yield page
    context.close()
    assert not problems, problems


def axe_violations(page, *, impacts=BLOCKING_IMPACTS + EXPLAINED_IMPACTS) -> list[dict]:
    """axe-core's violations on the page as it is now (every default rule: WCAG 2.x A and AA
    and best practices), of the given impacts, each as {id, impact, help, targets, summary}."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_JS))
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
            v => ({id: v.id, impact: v.impact, help: v.help,
                   nodes: v.nodes.map(n => ({target: n.target.join(" "),
                                              summary: n.failureSummary || ""}))}))"""
    )
    return [v for v in found if v["impact"] in impacts]


def axe_report(violations: list[dict], where: str = "") -> str:
    """One readable block: rule id, impact, what it means, then each target and why."""
    lines = []
    for v in violations:
        lines.append(f"{where}{v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:8]:
            summary = " ".join(node["summary"].split())[:300]
            lines.append(f"    {node['target']}  -- {summary}")
        if len(v["nodes"]) > 8:
            lines.append(f"    ... and {len(v['nodes']) - 8} more")
    return "\n".join(lines)


def explained_moderates() -> list[tuple[str, str, str]]:
    """(rule id, page pattern, explanation) for each row of the table in
    docs/ACCESSIBILITY.md whose first cell is a `rule-id` in backticks."""
    rows = []
    for line in ACCESSIBILITY_DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows.append((cells[0].strip("`"), cells[1].strip("`"), cells[2]))
    return rows


def axe_check(page, where: str, *, collect: list[str] | None = None) -> list[tuple[str, str]]:
    """Run axe-core on the page as it is now. A serious or critical violation, or a moderate
    one docs/ACCESSIBILITY.md does not explain for ``where`` (its table's page pattern, fnmatch),
    fails at once with a readable list; with ``collect`` it is appended there instead, so one
    run can report every page. Returns (rule, where) of each moderate found, explained or not
    (for spotting rows of the document no page needs any more)."""
    from fnmatch import fnmatch

    violations = axe_violations(page)
    explained = explained_moderates()
    wrong = [
        v
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
        or not any(rule == v["id"] and fnmatch(where, pattern) for rule, pattern, _ in explained)
    ]
    if wrong:
        text = axe_report(wrong, f"{where}: ")
        if collect is None:
            raise AssertionError(
                f"axe-core: serious or critical, or moderate and not in {ACCESSIBILITY_DOC.name}:"
                f"\n{text}"
            )
        collect.append(text)
    return [(v["id"], where) for v in violations if v["impact"] in EXPLAINED_IMPACTS]


PHONE_MAX = 640  # static/css/app.css: at this width and below, tables are cards


def assert_fits(page, width: int | None = None) -> None:
    """The document is no wider than the viewport: nothing scrolls the page sideways. On a
    phone (PHONE_MAX and below) no table's box scrolls sideways either, since tables are cards
    there (wider, a wide table may scroll inside its box). Names the offenders if not."""
    width = width or page.viewport_size["width"]
    scroll = page.evaluate("document.documentElement.scrollWidth")
    boxes = []
    if width <= PHONE_MAX:
        boxes = page.evaluate(
            """() => Array.from(document.querySelectorAll(".table-wrap"))
            .filter(w => w.scrollWidth > w.clientWidth + 1)
            .map(w => (w.querySelector("caption") || w).textContent.trim().slice(0, 60) +
                      ": " + w.scrollWidth + " px in " + w.clientWidth)"""
        )
    assert not boxes, f"{page.url}: tables scroll sideways at {width} px: {boxes}"
    if scroll <= width:
        return
    # The outermost elements past the edge (their parent is not): where to look first.
    culprits = page.evaluate(
        """(width) => {
            const wide = e => e.getBoundingClientRect().right > width + 1;
            return Array.from(document.querySelectorAll("body *"))
                .filter(e => wide(e) && !wide(e.parentElement)).slice(0, 8)
                .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
                     (typeof e.className === "string" && e.className.trim()
                        ? "." + e.className.trim().split(/\\s+/).join(".") : "") +
                     " right=" + Math.round(e.getBoundingClientRect().right));
        }""",
        width,
    )
    raise AssertionError(
        f"{page.url} is {scroll} px wide at a {width} px viewport; widest: {culprits}"
    )
