"""Secrets: a canary API key never appears in logs at any level (urllib3 included), command
output, error pages (DEBUG on and off, and the report admins would be mailed), admin,
dashboard pages, exception messages or the database.

The API itself shows a key's first 24 characters as ``overrideSetBy`` (its public "key
prefix", like the real API); the secret is the rest. The checks look for the whole key and
for its secret tail; the prefix is expected to show, and does (so the data really flowed).

Rerun: DEBUG=true .venv/bin/python -m pytest tests/reliability/test_secrets.py -q
"""

from __future__ import annotations

import io
import logging
import secrets
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.views.debug import ExceptionReporter

from creatives.models import AdsContent
from creatives.services import creative_override_set
from layersadmin.layers import LayersError, get_client
from sync.services import layers_sync
from tests.reliability.helpers import (
    TruncatingProxy,
    faults_off,
    faults_on,
    manage,
    record_figure,
    subprocess_env,
)
from tests.reliability.test_hostile_api import admin_pages
from tests.reliability.urlconf import concrete_urls

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = "lp_test_CANARY0123456789"  # 24 characters: the public key prefix
CANARY = PREFIX + "_" + secrets.token_urlsafe(32)
WRONG = "lp_test_WRONGKEY00000000_" + secrets.token_urlsafe(32)
NEEDLES = [CANARY, CANARY[24:], WRONG, WRONG[24:]]


class Haystack:
    """Everything the system said, in one place, with where it came from."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def add(self, where: str, text) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.parts.append((where, str(text)))

    def leaks(self) -> list[str]:
        return [
            f"{where}: ...{text[max(0, text.find(n) - 80) : text.find(n) + 20]}..."
            for where, text in self.parts
            for n in NEEDLES
            if n in text
        ]

    @property
    def size(self) -> int:
        return sum(len(t) for _w, t in self.parts)


def exception_texts(exc: BaseException) -> list[str]:
    texts = [str(exc), repr(exc), repr(exc.args)]
    if isinstance(exc, LayersError):
        texts += [exc.message, exc.request_id, repr(exc.details)]
    return texts


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "django", "django.request", "django.server", "layersadmin",
                 "projects", "creatives", "axes"):  # fmt: skip
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_the_canary_key_never_appears(sandbox_factory, settings, all_logs, capfd, admin_user):
    seen = Haystack()
    server = sandbox_factory(seed=21, projects=4, creatives_per_project=10, api_key=CANARY)
    assert server.keys["main"] == CANARY
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = CANARY
    settings.LAYERS_API_MAX_ATTEMPTS = 3
    settings.LAYERS_API_BACKOFF_BASE = 0.001

    # Syncs under every kind of fault, some ending partial; a run with a wrong key (401).
    faults_on(server, rate=0.3, seed=21, slow_ms=200)
    settings.LAYERS_API_READ_TIMEOUT = 0.1
    for _ in range(4):
        layers_sync()
    faults_off(server)
    settings.LAYERS_API_READ_TIMEOUT = 5
    assert layers_sync().ok
    settings.LAYERS_API_KEY = WRONG
    wrong = layers_sync()
    assert not wrong.ok and "UNAUTHENTICATED" in str(wrong.errors)
    settings.LAYERS_API_KEY = CANARY

    # The command, in process and as a subprocess at DEBUG level, with faults.
    out, err = io.StringIO(), io.StringIO()
    faults_on(server, rate=1.0, kinds=["500", "drop_before"], seed=3)
    with pytest.raises(CommandError) as failed:
        call_command("sync_layers", "--full", stdout=out, stderr=err)
    seen.add("sync_layers output", out.getvalue() + err.getvalue())
    seen.parts += [("CommandError", t) for t in exception_texts(failed.value)]
    faults_on(server, rate=0.3, seed=4)
    proc = manage(
        "sync_layers", "--full", env=subprocess_env(server.base_url, CANARY, LOG_LEVEL="DEBUG")
    )
    stdout, stderr = proc.communicate(timeout=120)
    seen.add("sync_layers subprocess (LOG_LEVEL=DEBUG)", stdout + stderr)
    faults_off(server)

    # Overrides that fail every way they can, and one that works.
    user = admin_user
    archived = AdsContent.objects.filter(project__status="archived").select_related("project")[0]
    active = list(
        AdsContent.objects.filter(project__status="active", override="").select_related("project")
    )
    attempts = [
        (archived, None, None),  # 409 refused
        (active[0], ["drop_before"] * 3, None),  # no answer: outcome unknown
        (active[1], ["drop_after", "500", "500"], None),  # applied, then 500s: unknown
        (active[2], None, {"PATCH": {1}}),  # answer cut mid-body: retried, applied
        (active[3], None, None),  # fine
    ]
    for row, faults, cut in attempts:
        if faults:
            faults_on(server, rate=0, nxt=faults)
        target = TruncatingProxy(server, cut=cut) if cut else None
        client = get_client(base_url=target.base_url) if target else None
        try:
            if target:
                target.__enter__()
            creative_override_set(ads_content=row, user=user, override="include", client=client)
        except LayersError as exc:
            seen.parts += [
                (f"override error {type(exc).__name__}", t) for t in exception_texts(exc)
            ]
        finally:
            if target:
                target.__exit__(None, None, None)
        faults_off(server)
    seen.add("client repr", repr(get_client()))

    # Every page a superuser can open: dashboard and admin (sync runs, audit, raw payloads).
    browser = Client()
    browser.force_login(admin_user)
    from types import SimpleNamespace

    from projects.models import Project
    from sync.models import TaskRecord

    a = Project.objects.filter(status="active").order_by("layers_id").first()
    site = SimpleNamespace(
        a=a,
        creative_a=AdsContent.objects.filter(project=a).first(),
        users={"superuser": admin_user},
        task=TaskRecord.objects.create(
            task_id="00000000-0000-4000-8000-0000000000b2", kind="sync", user=admin_user
        ),
    )
    paths = [u.path for u in concrete_urls(site) if not u.is_admin] + admin_pages()
    for path in paths:
        response = browser.get(path)
        if response.status_code < 400:
            body = b"".join(response.streaming_content) if response.streaming else response.content
            seen.add(f"page {path}", body)

    # Admin actions whose API calls fail: their messages are pages too.
    admin_actions(browser, server, settings, seen, archived)

    # Error pages: DEBUG off (what users see), DEBUG on (developers), and the report admins
    # would be mailed (ExceptionReporter, with every frame's local variables).
    settings.ROOT_URLCONF = "tests.reliability.urls_boom"
    for debug in (False, True):
        settings.DEBUG = debug
        crash = Client(raise_request_exception=False)
        crash.force_login(admin_user)
        for path in ("/boom/unreachable/", "/boom/after-call/", "/boom/misconfigured/"):
            response = crash.get(path)
            assert response.status_code == 500
            seen.add(f"500 page DEBUG={debug} {path}", response.content)
    settings.DEBUG = False
    # The report admins would be mailed for those 500s (AdminEmailHandler builds it from the
    # django.request record: every frame's local variables, settings, the request).
    reports = 0
    for record in all_logs.records:
        if record.name == "django.request" and record.exc_info and record.levelno >= logging.ERROR:
            request = getattr(record, "request", None)
            reporter = ExceptionReporter(request, *record.exc_info, is_email=True)
            seen.add("mailed report (text)", reporter.get_traceback_text())
            seen.add("mailed report (html)", reporter.get_traceback_html())
            seen.parts += [("exception", t) for t in exception_texts(record.exc_info[1])]
            reports += 1
    assert reports >= 6

    # The database, every table (sync runs' errors, audit messages, raw payloads).
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    seen.add("dumpdata", dump.getvalue())

    # Logs of everything above, every level, every logger (urllib3 included), and the
    # console handler's output.
    for record in all_logs.records:
        seen.add(f"log {record.levelname} {record.name}", record.getMessage())
        if record.exc_info:
            seen.add(
                f"log traceback {record.name}", logging.Formatter().formatException(record.exc_info)
            )
    seen.add("log text", all_logs.text)
    captured = capfd.readouterr()
    seen.add("stdout/stderr", captured.out + captured.err)
    sys.stderr.write(captured.err[-2000:])

    assert seen.leaks() == [], "\n".join(seen.leaks()[:20])
    assert any(PREFIX in text for _w, text in seen.parts)  # the API's key prefix did flow
    assert any(
        r.levelno == logging.DEBUG and r.name.startswith("urllib3") for r in all_logs.records
    )
    record_figure(
        "secrets",
        sources=len(seen.parts),
        characters_scanned=seen.size,
        log_records=len(all_logs.records),
        pages=len(paths),
        leaks=0,
    )


def admin_actions(browser, server, settings, seen: Haystack, archived) -> None:
    """Sync and override actions in admin, with the API failing and with a wrong key."""
    from projects.models import Project

    projects_pks = [str(pk) for pk in Project.objects.values_list("pk", flat=True)]
    posts = [
        ("/admin/projects/project/", {"action": "sync_now", "_selected_action": projects_pks}),
        (
            "/admin/creatives/adscontent/",
            {"action": "override_include", "_selected_action": [str(archived.pk)], "note": "x"},
        ),
    ]
    for label, faults in (("canary", ["500", "drop_before"]), ("wrong", None)):
        settings.LAYERS_API_KEY = CANARY if label == "canary" else WRONG
        if faults:
            faults_on(server, rate=1.0, kinds=faults, seed=5)
        for path, data in posts:
            response = browser.post(path, data, follow=True)
            assert response.status_code == 200, (path, response.status_code)
            seen.add(f"admin action {data['action']} key={label}", response.content)
        faults_off(server)
    settings.LAYERS_API_KEY = CANARY
