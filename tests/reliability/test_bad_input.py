"""Bad input: property-based tests (hypothesis) over every dashboard URL's query parameters,
its path ids, the override form, the leaderboard refresh form, the sign-in form and admin's
changelist parameters: unicode, huge, empty, wrong types, NUL bytes. Never a 500; whatever
was refused or ignored is said in the page.

Examples are derandomized (the same inputs every run, so CI is reproducible); set
RELIABILITY_EXAMPLES to try more (e.g. 500) locally.

Rerun: DEBUG=true .venv/bin/python -m pytest tests/reliability/test_bad_input.py -q
"""

from __future__ import annotations

import html
import os
from urllib.parse import quote, urlsplit

import pytest
from axes.models import AccessAttempt
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.reliability.helpers import record_figure
from tests.reliability.test_access import MATRIX
from tests.reliability.urlconf import concrete_urls

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("RELIABILITY_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

# Every query parameter and form field name the dashboard reads, plus a few it does not.
FIELDS = [
    "q", "status", "format", "creativeType", "since", "until", "cursor", "pool", "override",
    "eligible", "minScore", "sort", "watch", "metric", "window", "sourceType", "platform",
    "limit", "includeIneligible", "note", "form_token", "next", "fragment", "page", "o", "p",
]  # fmt: skip
SPECIAL = [
    "", " ", "\x00", "a\x00b", "%00", "NaN", "nan", "inf", "-inf", "1e309", "-1", "0", "-0",
    "1.5", "99999999999999999999999", "2026-02-30", "0000-00-00", "9999-12-31", "1999-12-31",
    "2026-13-01", "true", "false", "on", "[]", "{}", "null", "None", "<script>alert(1)</script>",
    "' OR 1=1 --", "../../etc/passwd", "\u202egnp.exe", "\ufeff", "🙂" * 40, "views", "roas",
    "30d", "7d", "include", "exclude", "clear", "score_desc", "completed", "eyJhIjoxfQ",
    "eyJjcmVhdGVkQXQiOiJ4IiwiaWQiOjF9", "//evil.example/", "javascript:alert(1)",
]  # fmt: skip
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
values = st.one_of(
    st.sampled_from(SPECIAL),
    text,
    st.integers().map(str),
    st.floats().map(repr),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=4).map(
        lambda s: s * 25_000  # huge: 25k-100k characters
    ),
)
queries = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), text),
    st.lists(values, min_size=1, max_size=3),  # a list: the parameter repeated
    max_size=6,
)


class Tally:
    def __init__(self) -> None:
        self.inputs = 0
        self.statuses: dict[int, int] = {}

    def add(self, response) -> None:
        self.inputs += 1
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1


def _problems(response) -> list[str]:
    context = response.context
    if context is None:
        return []
    try:
        return list(context.get("problems") or [])
    except AttributeError:  # a ContextList without the key
        return []


def assert_clear(response, label: str) -> None:
    """Never a 500; every problem the page's form found is shown in the page."""
    assert response.status_code < 500, (label, response.status_code)
    if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
        page = response.content.decode()
        for problem in _problems(response):
            assert html.escape(str(problem), quote=True) in page or str(problem) in page, (
                label,
                problem,
            )


def get_urls(site) -> list:
    """The dashboard's pages: URLs a superuser can GET."""
    return [
        u
        for u in concrete_urls(site)
        if not u.is_admin and MATRIX[u.name].get("GET", {}).get("superuser") == 200
    ]


def test_query_parameters_of_every_dashboard_url(site):
    client = site.clients["superuser"]
    tally = Tally()
    urls = [u for u in get_urls(site) if u.name not in ("login", "logout", "healthz")]
    assert len(urls) >= 10

    def fuzzer(url):
        @FUZZ
        @given(query=queries, htmx=st.booleans())
        def fuzz(query, htmx):
            headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
            response = client.get(url.path, query, **headers)
            tally.add(response)
            assert_clear(response, f"GET {url.label} {str(query)[:300]}")

        return fuzz

    try:
        for url in urls:
            fuzzer(url)()
    finally:
        record_figure("bad_input", what="query parameters", urls=len(urls), inputs=tally.inputs,
                      statuses=tally.statuses)  # fmt: skip


def test_a_value_that_is_ignored_is_said_in_the_page(site):
    client = site.clients["manager"]
    a = site.a.layers_id
    cases = {
        f"/projects/{a}/creatives/": {"minScore": "lots", "sort": "sideways", "cursor": "x"},
        f"/projects/{a}/gallery/": {"since": "2026-02-30", "cursor": "\x00"},
        f"/projects/{a}/leaderboard/": {"metric": "likes", "limit": "1000"},
        "/leaderboard/": {"window": "1y"},
        "/": {"q": "a\x00b"},
    }
    for path, query in cases.items():
        response = client.get(path, query)
        assert response.status_code == 200, path
        problems = _problems(response)
        assert len(problems) >= 1, (path, query)
        assert_clear(response, path)


def test_path_ids_of_every_dashboard_url(site):
    client = site.clients["superuser"]
    tally = Tally()
    templates = [u.route for u in get_urls(site) if "<" in u.route]

    @FUZZ
    @given(
        route=st.sampled_from(templates),
        project_id=st.one_of(st.sampled_from(SPECIAL), text, st.just(site.a.layers_id)),
        creative_id=st.one_of(st.sampled_from(SPECIAL), text),
    )
    def fuzz(route, project_id, creative_id):
        if not project_id or not creative_id:
            return
        path = "/" + route.replace("<str:project_id>", quote(project_id, safe="")).replace(
            "<str:ads_content_id>", quote(creative_id, safe="")
        )
        response = client.get(path)
        tally.add(response)
        assert response.status_code in (200, 404), (path[:200], response.status_code)
        if response.status_code == 200:  # only the real project, on a page without a creative
            assert project_id == site.a.layers_id and "ads_content_id" not in route

    try:
        fuzz()
    finally:
        record_figure("bad_input", what="path ids", inputs=tally.inputs, statuses=tally.statuses)


def test_the_override_form(site):
    client = site.clients["superuser"]
    tally = Tally()
    creative = site.creative_a
    url = f"/projects/{site.a.layers_id}/creatives/{creative.layers_id}/override/"

    @FUZZ
    @given(
        override=st.one_of(st.sampled_from(["include", "exclude", "clear"]), values),
        note=st.one_of(st.just(""), values),
        form_token=st.one_of(st.just(""), st.uuids().map(str), values),
        nxt=st.one_of(st.just(""), st.sampled_from(SPECIAL), text),
        fragment=st.sampled_from(["", "panel", "row", "\x00"]),
        htmx=st.booleans(),
    )
    def fuzz(override, note, form_token, nxt, fragment, htmx):
        data = {"override": override, "note": note, "form_token": form_token, "next": nxt}
        if fragment:
            data["fragment"] = fragment
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.post(url, data, **headers)
        tally.add(response)
        label = f"POST override {str(data)[:300]}"
        assert response.status_code in (200, 302, 409, 422, 502, 504), (label, response.status_code)
        if response.status_code == 302:
            target = urlsplit(response["Location"])
            assert not target.scheme and not target.netloc, (label, response["Location"])
        elif response.status_code != 200:
            page = response.content.decode()
            assert 'role="alert"' in page or "msg-error" in page or "error" in page, label

    try:
        fuzz()
    finally:
        record_figure("bad_input", what="override form", inputs=tally.inputs,
                      statuses=tally.statuses)  # fmt: skip


def test_the_leaderboard_refresh_form(site):
    client = site.clients["manager"]
    tally = Tally()
    url = f"/projects/{site.a.layers_id}/leaderboard/refresh/"

    @FUZZ
    @given(query=queries, htmx=st.booleans())
    def fuzz(query, htmx):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        response = client.post(url, query, **headers)
        tally.add(response)
        assert response.status_code in (200, 302, 422, 502, 504), (str(query)[:300], response)
        if response.status_code == 422:
            assert "Fix the controls first" in response.content.decode() or "Layers refused" in (
                response.content.decode()
            )

    try:
        fuzz()
    finally:
        record_figure("bad_input", what="leaderboard refresh", inputs=tally.inputs,
                      statuses=tally.statuses)  # fmt: skip


def test_the_sign_in_form(site):
    tally = Tally()

    @FUZZ
    @given(username=st.one_of(st.just("manager"), values), password=values)
    def fuzz(username, password):
        AccessAttempt.objects.all().delete()  # each example starts unlocked (lockout: access)
        client = Client()
        response = client.post("/accounts/login/", {"username": username, "password": password})
        tally.add(response)
        label = f"login {username[:80]!r} / {password[:80]!r}"
        assert response.status_code in (200, 302, 429), (label, response.status_code)
        page = response.content.decode()
        if response.status_code == 200:  # refused: the page must say why
            assert 'role="alert"' in page, f"no message shown: {label}"
        elif response.status_code == 429:
            assert "Too many failed sign-ins" in page, label

    try:
        fuzz()
    finally:
        record_figure("bad_input", what="sign-in form", inputs=tally.inputs,
                      statuses=tally.statuses)  # fmt: skip


def test_admin_changelist_parameters(site):
    client = site.clients["superuser"]
    tally = Tally()
    changelists = [u for u in concrete_urls(site) if (u.name or "").endswith("_changelist")]

    @FUZZ
    @given(url=st.sampled_from(changelists), query=queries)
    def fuzz(url, query):
        response = client.get(url.path, query)
        tally.add(response)
        assert response.status_code in (200, 302, 400), (url.label, str(query)[:300], response)

    try:
        fuzz()
    finally:
        record_figure("bad_input", what="admin changelists", urls=len(changelists),
                      inputs=tally.inputs, statuses=tally.statuses)  # fmt: skip


# --- the bugs the fuzzing found, pinned as plain tests ---------------------------------------


def test_override_form_with_a_next_that_is_not_a_path_is_not_a_500(site):
    """Found by test_the_override_form: ``next=foo`` (no slash, no dot) made redirect() try
    to reverse it as a URL name: NoReverseMatch, a 500. (layersadmin/htmx.py, local_next +
    redirect.) Expected: the form's default return page."""
    client = site.clients["superuser"]
    creative = site.creative_a
    url = f"/projects/{site.a.layers_id}/creatives/{creative.layers_id}/override/"
    for nxt in ("foo", "%00", "creative_list"):
        response = client.post(url, {"override": "bogus", "next": nxt})
        assert response.status_code == 302, (nxt, response.status_code)
        assert response["Location"] == f"/projects/{site.a.layers_id}/creatives/"


def test_sign_in_with_a_missing_field_says_what_is_wrong(site):
    """Found by test_the_sign_in_form: an empty password (or username) re-renders the sign-in
    page with no message at all: templates/registration/login.html shows only
    non_field_errors, never the fields' own errors ("This field is required.")."""
    for data in ({"username": "manager", "password": ""}, {"username": "", "password": "x"}):
        response = Client().post("/accounts/login/", data)
        assert response.status_code == 200
        page = response.content.decode()
        assert "This field is required." in page, data


def test_sign_in_with_a_huge_username_is_not_a_500(site):
    """Found by test_the_sign_in_form on PostgreSQL: django-axes stored the failed attempt's
    username uncut in a varchar(255) ("value too long": a 500 for anyone). Fixed in settings
    (AXES_USERNAME_CALLABLE cuts it to the column)."""
    for username in ("x" * 256, "é" * 5000, "manager" + "\u202e" * 300):
        response = Client().post("/accounts/login/", {"username": username, "password": "nope"})
        assert response.status_code == 200, response.status_code
