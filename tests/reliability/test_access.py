"""Access: an authorization matrix over every URL of the URLconf and every role; tampered ids
give 404; every POST without a CSRF token is refused; login throttling; idle session expiry;
``check --deploy``; security headers and a Content-Security-Policy every page respects.

Rerun: DEBUG=true .venv/bin/python -m pytest tests/reliability/test_access.py -q
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from creatives.models import ContentContainer, ContentReviewAudit, OverrideAudit
from layersadmin.middleware import RENEWED_KEY, renew_interval
from tests.reliability.conftest import PASSWORD, ROLES
from tests.reliability.helpers import PYTHON, ROOT, record_figure
from tests.reliability.urlconf import Url, concrete_urls, url_patterns

pytestmark = pytest.mark.django_db

LOGIN = "login"  # sent to the sign-in page (302, or HX-Redirect for htmx)
ADMIN_LOGIN = "admin-login"  # sent to admin's sign-in page


class Perm:
    """Expected status depends on a permission the role's user has or lacks."""

    def __init__(self, perm: str, allowed: int, refused: int) -> None:
        self.perm, self.allowed, self.refused = perm, allowed, refused

    def for_user(self, user) -> int:
        return self.allowed if user.has_perm(self.perm) else self.refused


def everyone(expected) -> dict:
    return dict.fromkeys(ROLES, expected)


def signed_in(expected) -> dict:
    return {**everyone(expected), "anonymous": LOGIN}


def scoped(expected) -> dict:
    """A project page: its manager, support and superusers; another project's manager 404."""
    return {**signed_in(expected), "other_manager": 404}


OVERRIDE = Perm("creatives.change_override", allowed=422, refused=403)

# Every dashboard URL name -> method -> role -> expected answer. POSTs send an invalid form
# (no API call): 422 means "allowed in, and told what is wrong". A URL missing here fails
# test_every_url_has_an_access_entry.
MATRIX: dict[str, dict[str, dict]] = {
    "healthz": {"GET": everyone(200), "POST": everyone(405)},
    "favicon": {"GET": everyone(302), "POST": everyone(405)},
    "login": {"GET": everyone(200)},
    "logout": {"GET": everyone(405), "POST": everyone(LOGIN)},
    "project_list": {"GET": signed_in(200)},
    "agency_leaderboard": {"GET": signed_in(200)},
    "agency_leaderboard_export": {"GET": signed_in(200)},
    "project_detail": {"GET": scoped(200)},
    "project_gallery": {"GET": scoped(200)},
    "project_leaderboard": {"GET": scoped(200)},
    "leaderboard_export": {"GET": scoped(200)},
    "leaderboard_refresh": {"GET": everyone(405), "POST": scoped(422)},
    "creative_list": {"GET": scoped(200)},
    "creative_export": {"GET": scoped(200)},
    "creative_detail": {"GET": scoped(200)},
    "creative_override": {
        "GET": everyone(405),
        "POST": {**scoped(OVERRIDE), "other_manager": 404},
    },
    # A background task's page: who started it (the manager, in the site fixture), support
    # and superusers (view_all_projects); anyone else 404.
    "task_status": {"GET": scoped(200)},
    # Content review: whoever may see the project (its managers, support, superusers); the
    # invalid form (approve unconfirmed, reject without a reason) is 422 before any API call.
    "agency_review_queue": {"GET": signed_in(200)},
    "project_review_queue": {"GET": scoped(200)},
    # Their GET is the page asking for the note or reason (the item's buttons without JS).
    "content_approve": {"GET": scoped(200), "POST": scoped(422)},
    "content_reject": {"GET": scoped(200), "POST": scoped(422)},
    # Alerts: each person's own notifications and settings (the invalid form is 422).
    "notifications": {"GET": signed_in(200)},
    "notifications_read": {"GET": everyone(405), "POST": signed_in(422)},
    "alert_settings": {"GET": signed_in(200), "POST": signed_in(422)},
    "alert_mute": {"GET": everyone(405), "POST": signed_in(422)},
    # Saved views (layersadmin.saved_views): anyone signed in saves their own (the invalid
    # form names no page: 422); only the owner deletes one, anyone else gets 404 (the sample
    # id is no one's view).
    "saved_view_create": {"GET": everyone(405), "POST": signed_in(422)},
    "saved_view_delete": {"GET": everyone(405), "POST": signed_in(404)},
    # The decision tables (creatives.bulk_views): the agency's table lists only what each
    # person may see; a row's change without a creative is 404 (without the permission, its
    # question page is 403); a bulk action with no valid action is 422 (403 without the
    # permission); a bulk action or change nobody made (the sample ids) is 404 to everyone.
    "agency_creatives": {"GET": signed_in(200)},
    "agency_creatives_export": {"GET": signed_in(200)},
    "creative_change": {
        "GET": {**signed_in(Perm("creatives.change_override", allowed=404, refused=403))},
        "POST": signed_in(404),
    },
    "creative_override_undo": {"GET": everyone(405), "POST": signed_in(404)},
    "bulk_override_create": {"GET": everyone(405), "POST": signed_in(OVERRIDE)},
    "bulk_override_status": {"GET": signed_in(404)},
    "bulk_override_undo": {"GET": everyone(405), "POST": signed_in(404)},
    "bulk_override_resume": {"GET": everyone(405), "POST": signed_in(404)},
}
# Layers' webhooks: no session, login or CSRF token (the HMAC signature authenticates a
# delivery); without LAYERS_WEBHOOK_SECRET (the test environment sets none) it answers 503.
MATRIX["layers_webhook"] = {"GET": everyone(405), "POST": everyone(503)}
CSRF_EXEMPT = {"layers_webhook": (400, 503)}  # refused for want of a valid signature instead
INVALID_POST = {"metric": "not-a-metric", "override": "not-a-choice", "note": "x"}
STAFF = ("support", "superuser")


def test_every_url_has_an_access_entry():
    """A new dashboard URL fails here until MATRIX says who may use it; admin URLs follow the
    admin rule (test_authorization_matrix)."""
    missing, unnamed = [], []
    names = set()
    for name, route, _pattern in url_patterns():
        if route.startswith("admin/"):
            continue
        if name is None:
            unnamed.append(route)
            continue
        names.add(name)
        if name not in MATRIX:
            missing.append(f"{name} ({route})")
    assert not unnamed, f"unnamed URL patterns cannot be in the matrix: {unnamed}"
    assert not missing, f"URLs without an access-matrix entry in {__file__}: {missing}"
    assert not set(MATRIX) - names, (
        f"matrix entries for URLs that no longer exist: {set(MATRIX) - names}"
    )


def _outcome(response) -> object:
    location = response.get("Location", "") or response.get("HX-Redirect", "")
    if response.status_code in (200, 302) and location.startswith("/accounts/login/"):
        return LOGIN
    if response.status_code == 302 and location.startswith("/admin/login/"):
        return ADMIN_LOGIN
    return response.status_code


def _admin_expected(url: Url, role: str, response) -> Callable[[object], bool]:
    """The admin rule: non-staff are sent to admin's sign-in (never see a page); staff get an
    answer that is not an error and not a sign-in page."""
    if role in STAFF:
        if url.name == "admin:logout":
            return lambda got: got in (405, LOGIN)
        return lambda got: isinstance(got, int) and got < 500
    if url.name == "admin:login":
        return lambda got: got == 200
    if url.name == "admin:logout":
        return lambda got: got in (302, 405, LOGIN)
    return lambda got: got == ADMIN_LOGIN


def test_authorization_matrix(site):
    checks, wrong = 0, []
    for url in concrete_urls(site):
        methods = ("GET", "POST") if url.is_admin else tuple(MATRIX[url.name])
        for method in methods:
            for role in ROLES:
                if url.is_admin and method == "POST" and role in STAFF:
                    continue  # a staff POST to admin acts (deletes...): GETs only for staff
                client = site.clients[role]
                if method == "GET":
                    response = client.get(url.path)
                else:
                    response = client.post(url.path, INVALID_POST, HTTP_HX_REQUEST="true")
                got = _outcome(response)
                if url.is_admin:
                    if method == "POST" and role not in STAFF and url.name != "admin:login":
                        ok = got in (ADMIN_LOGIN, 302)
                    else:
                        ok = _admin_expected(url, role, response)(got)
                    expected = "admin rule"
                else:
                    expected = MATRIX[url.name][method][role]
                    if isinstance(expected, Perm):
                        expected = expected.for_user(site.users[role])
                    ok = got == expected
                checks += 1
                if not ok:
                    wrong.append(
                        f"{method} {url.path} [{url.label}] as {role}: {got}, expected {expected}"
                    )
                # Re-login after logout so later URLs are checked as the same role.
                if (
                    url.name in ("logout", "admin:logout")
                    and method == "POST"
                    and role != "anonymous"
                ):
                    client.force_login(site.users[role])
    assert not wrong, "\n".join(wrong)
    assert OverrideAudit.objects.exclude(idempotency_key="fixture").count() == 0
    record_figure("access", urls=len(concrete_urls(site)), roles=len(ROLES), checks=checks)


TAMPERED = [
    "prj_00000000-0000-4000-8000-000000000000",  # well formed, does not exist
    "{a}X",
    "{B}",  # another customer's project, in another id form (upper case, no prefix)
    "{a}%20",
    "{a}%00",
    "%00",
    "..%2F..%2Fadmin",
    "x" * 65,
    "' OR 1=1 --",
    "%E2%80%AE{a}",  # right-to-left override
    "{b}",  # another customer's project
]


def _tampered(template: str, site) -> str:
    a = site.a.layers_id
    b = site.b.layers_id
    value = template.replace("{a}", a).replace("{B}", b.upper()[4:]).replace("{b}", b)
    return value if "%" in template else quote(value, safe="")


def test_tampered_ids_give_404(site):
    manager = site.clients["manager"]
    a, creative_a, creative_b = (
        site.a.layers_id,
        site.creative_a.layers_id,
        site.creative_b.layers_id,
    )
    tried = 0
    for template in TAMPERED:
        pid = _tampered(template, site)
        suffixes = ("", "gallery/", "leaderboard/", "creatives/", f"creatives/{creative_a}/")
        for suffix in (*suffixes, "review/"):
            response = manager.get(f"/projects/{pid}/{suffix}")
            tried += 1
            assert response.status_code == 404, (pid, suffix, response.status_code)
    # A's page with B's creative (or a mangled one), for reading and for the override.
    for cid in (creative_b, creative_b.upper(), creative_a + "%00", quote("<b>", safe="")):
        for client_role in ("manager", "superuser"):
            client = site.clients[client_role]
            assert client.get(f"/projects/{a}/creatives/{cid}/").status_code == 404
            response = client.post(
                f"/projects/{a}/creatives/{cid}/override/",
                {"override": "include", "form_token": "t"},
                HTTP_HX_REQUEST="true",
            )
            assert response.status_code == 404
            tried += 2
    assert not OverrideAudit.objects.exclude(idempotency_key="fixture").exists()
    # A's page with B's container (or a mangled one), for approve and reject: 404, no audit.
    container_b = ContentContainer.objects.filter(project=site.b).first().layers_id
    for cid in (container_b, container_b.upper(), quote("<b>", safe=""), "%00"):
        for action, data in (("approve", {"confirm": "yes"}), ("reject", {"text": "no"})):
            response = site.clients["superuser"].post(
                f"/projects/{a}/content/{cid}/{action}/", data, HTTP_HX_REQUEST="true"
            )
            assert response.status_code == 404, (cid, action, response.status_code)
            tried += 1
    assert not ContentReviewAudit.objects.exists()
    # Another form of an id the person may see names the same object (ids compare in normal
    # form: prefix stripped, any case), and reaches the same page.
    same = f"/projects/{a.upper()[4:]}/creatives/{creative_a.upper()}/"
    assert manager.get(same).status_code == 200
    record_figure("access", tampered_requests=tried, all_404=True)


def test_every_post_without_a_csrf_token_is_refused(site):
    refused, tried = 0, 0
    for role in ("anonymous", "manager", "superuser"):
        client = Client(enforce_csrf_checks=True)
        if role != "anonymous":
            client.force_login(site.users[role])
        for url in concrete_urls(site):
            data = {"override": "include", "note": "csrf", "form_token": "t", "metric": "views"}
            response = client.post(url.path, data)
            tried += 1
            expected = CSRF_EXEMPT.get(url.name, (403,))
            assert response.status_code in expected, (role, url.label, response.status_code)
            refused += 1
    assert not OverrideAudit.objects.exclude(idempotency_key="fixture").exists()
    record_figure("access", csrf_posts=tried, refused=refused)


def test_login_throttling_locks_after_a_few_failures(site, settings):
    limit = settings.AXES_FAILURE_LIMIT
    assert 3 <= limit <= 10
    client = Client()
    for _ in range(limit):
        response = client.post("/accounts/login/", {"username": "manager", "password": "wrong"})
        assert response.status_code in (200, 429)
    response = client.post("/accounts/login/", {"username": "manager", "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still signed out
    # The lock is per user and address: another user from the same address still signs in.
    other = Client()
    response = other.post("/accounts/login/", {"username": "support", "password": PASSWORD})
    assert response.status_code == 302 and "_auth_user_id" in other.session
    record_figure("access", axes_failures_before_lock=limit, locked=True)


def test_sessions_expire_after_idle_time(site, settings):
    client = Client()
    response = client.post("/accounts/login/", {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert cookie["httponly"]
    key = client.session.session_key
    first = Session.objects.get(session_key=key).expire_date
    time.sleep(0.05)
    assert client.get("/").status_code == 200
    # Renewed at most once a minute (layersadmin.middleware), not on every request...
    assert Session.objects.get(session_key=key).expire_date == first
    # ...and by the first request once that minute has passed, cookie included.
    store = client.session
    store[RENEWED_KEY] -= renew_interval()
    store.save()
    response = client.get("/")
    assert response.status_code == 200
    assert Session.objects.get(session_key=key).expire_date > first
    assert int(response.cookies[settings.SESSION_COOKIE_NAME]["max-age"]) == (
        settings.SESSION_COOKIE_AGE
    )
    # Idle past the limit: signed out.
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert _outcome(client.get("/")) == LOGIN
    # The same in real time with a one-second idle limit.
    settings.SESSION_COOKIE_AGE = 1
    quick = Client()
    quick.post("/accounts/login/", {"username": "support", "password": PASSWORD})
    assert quick.get("/").status_code == 200
    time.sleep(1.5)
    assert _outcome(quick.get("/")) == LOGIN
    record_figure("access", idle_expiry_seconds=1, expired=True)


def test_check_deploy_is_clean():
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "ci-" + secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "layersadmin.example.com",
        "LAYERS_API_BASE_URL": "https://api.layers.com/v1",
        "LAYERS_API_KEY": "lp_test_CIKEYCIKEYCIKEYC_notarealsecret",
        "DATABASE_URL": "sqlite:////tmp/layersadmin-check-deploy.sqlite3",
    }
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- headers and the Content-Security-Policy -----------------------------------------------


class InlineCode(HTMLParser):
    """Collects what a strict CSP (no 'unsafe-inline', no eval) would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event handler attribute")
            if name == "style":
                self.problems.append(f"<{tag} style=...> inline style")
            if name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}> (htmx inline handler needs eval)")
            scheme = (value or "").strip().lower()
            if name in ("href", "src", "action", "formaction") and scheme.startswith(
                ("javascript:", "data:text/html")
            ):
                self.problems.append(f"<{tag} {name}={value[:40]!r}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            kind = (attrs.get("type") or "").lower()
            data_block = kind in ("application/json", "application/ld+json")
            if not attrs.get("src") and not data_block:
                self._in_script = True

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False


def csp_problems(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.problems


def assert_security_headers(response, label: str) -> None:
    csp = response.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("default-src") == ["'self'"], (label, csp)
    for name in ("script-src", "style-src"):
        assert name in directives, (label, csp)
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(directives[name]), (label, csp)
    assert directives.get("object-src") == ["'none'"], (label, csp)
    assert directives.get("frame-ancestors") == ["'none'"], (label, csp)
    assert response.get("X-Frame-Options") == "DENY", label
    assert response.get("X-Content-Type-Options") == "nosniff", label
    assert response.get("Referrer-Policy") == "same-origin", label
    assert response.get("Cross-Origin-Opener-Policy") == "same-origin", label


def html_pages(site):
    """(label, response) for every page a GET can show: dashboard pages as each signed-in role
    that may see them, their htmx fragments, sign-in, and every admin page for a superuser."""
    for url in concrete_urls(site):
        if url.is_admin:
            roles = ("superuser",)
        elif "GET" not in MATRIX[url.name]:
            continue
        else:
            roles = [r for r in ROLES if MATRIX[url.name]["GET"][r] == 200]
        for role in roles:
            client = site.clients[role]
            response = client.get(url.path)
            yield f"{url.label} as {role}", response
            if not url.is_admin and role == "superuser":
                yield f"{url.label} (htmx)", client.get(url.path, HTTP_HX_REQUEST="true")


def test_security_headers_and_csp_on_every_page(site):
    pages, problems = 0, []
    for label, response in html_pages(site):
        if response.status_code >= 400 and response.status_code != 405:
            continue  # refusals are covered by the matrix
        assert_security_headers(response, label)
        if "text/html" in response.get("Content-Type", "") and response.status_code == 200:
            pages += 1
            problems += [f"{label}: {p}" for p in csp_problems(response.content.decode())]
    assert pages >= 20
    assert not problems, "\n".join(problems)
    record_figure("access", csp_pages_checked=pages, inline_code_found=0)


def test_the_inline_code_detector_finds_what_a_strict_csp_blocks():
    page = (
        '<div style="color:red" onclick="x()"><script>alert(1)</script>'
        '<script src="/static/js/app.js"></script><script type="application/json">{}</script>'
        '<a href="javascript:alert(1)">x</a><style>p{}</style><button hx-on:click="x">b</button>'
    )
    assert len(csp_problems(page)) == 6, csp_problems(page)


def test_no_page_shows_another_customers_data(site):
    """Each account manager, on every page they may open (full, htmx fragment, CSV export,
    searched, every leaderboard metric), never sees an id, name or customer id of the other
    customer's project or any of its creatives."""
    from creatives.models import AdsContent, ContentContainer

    def secrets_of(project) -> set[str]:
        values = {project.layers_id, project.name, project.customer_external_id}
        values |= set(
            AdsContent.objects.filter(project=project).values_list("layers_id", flat=True)
        )
        values |= set(
            ContentContainer.objects.filter(project=project).values_list("layers_id", flat=True)
        )
        return {v for v in values if v}

    queries = ["", "?q=", "?metric=roas&window=90d", "?metric=conversions&window=7d", "?limit=100"]
    checked = 0
    for role, own, other in (("manager", site.a, site.b), ("other_manager", site.b, site.a)):
        client = site.clients[role]
        forbidden = secrets_of(other)
        queries[1] = f"?q={quote(other.name[:5])}"
        own_creative = AdsContent.objects.filter(project=own).order_by("layers_id").first()
        paths = [
            u.path.replace(site.a.layers_id, own.layers_id).replace(
                site.creative_a.layers_id, own_creative.layers_id
            )
            for u in concrete_urls(site)
            if not u.is_admin and u.name in MATRIX
        ]
        for path in paths:
            for query in queries:
                for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
                    response = client.get(path + query, **headers)
                    if response.status_code != 200:
                        continue
                    body = (
                        b"".join(response.streaming_content)
                        if response.streaming
                        else response.content
                    ).decode()
                    checked += 1
                    leaked = [v for v in forbidden if v in body]
                    assert not leaked, (role, path + query, leaked[:3])
    assert checked >= 50
    record_figure("access", cross_customer_pages_checked=checked, leaked=0)
