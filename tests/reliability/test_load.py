"""Load: 60 s of mixed dashboard traffic from 20 concurrent signed-in clients (pages, htmx
fragments, CSV exports, filters, overrides) against gunicorn, while ``sync_layers`` runs
against the sandbox again and again (the sandbox advances before each run so every run has
work). Loopback only. Counts every answer; an error is any 5xx, any unexpected status, any
exception.

Rerun: DEBUG=true .venv/bin/python -m pytest tests/reliability/test_load.py -q
       (RELIABILITY_LOAD_SECONDS=600 for a longer soak)
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import threading
import time

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.utils.crypto import get_random_string

from creatives.models import AdsContent, OverrideAudit
from projects.models import Project
from sync.models import SyncRun
from sync.services import layers_sync
from tests.reliability.conftest import make_role_users
from tests.reliability.helpers import (
    PYTHON,
    ROOT,
    control,
    fast_client,
    free_port,
    manage,
    mirror_diff,
    record_figure,
    subprocess_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SECONDS = float(os.environ.get("RELIABILITY_LOAD_SECONDS", "60"))
CLIENTS = 20


def start_gunicorn(server, port: int) -> subprocess.Popen:
    env = subprocess_env(
        server.base_url,
        server.keys["main"],
        DEBUG="false",
        SECRET_KEY=django_settings.SECRET_KEY,  # sessions made here must verify there
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(  # noqa: S603
        [PYTHON, "-m", "gunicorn", "layersadmin.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn did not start: {proc.communicate()[0][-3000:]}")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.errors: list[str] = []
        self.latencies: list[float] = []

    def add(self, status: int | None, seconds: float, error: str | None) -> None:
        with self.lock:
            self.requests += 1
            if status is not None:
                self.by_status[status] = self.by_status.get(status, 0) + 1
                self.latencies.append(seconds)
            if error:
                self.errors.append(error)


def user_mix(project_ids: list[str], creatives: dict[str, list[str]], can_override: bool):
    """A weighted list of (method, path, headers, expected statuses)."""
    hx = {"HX-Request": "true"}
    mix = [("GET", "/", {}, 4), ("GET", "/?q=a", hx, 2), ("GET", "/leaderboard/", {}, 2),
           ("GET", "/leaderboard/?metric=roas&window=7d", hx, 1),
           ("GET", "/leaderboard/export.csv", {}, 1), ("GET", "/healthz", {}, 1)]  # fmt: skip
    for pid in project_ids:
        base = f"/projects/{pid}/"
        mix += [
            ("GET", base, {}, 3),
            ("GET", base + "gallery/", {}, 3),
            ("GET", base + "gallery/?status=completed", hx, 2),
            ("GET", base + "creatives/", {}, 3),
            ("GET", base + "creatives/?sort=scored_at_desc&minScore=4", hx, 2),
            ("GET", base + "creatives/?watch=included_low", {}, 1),
            ("GET", base + "creatives/export.csv", {}, 1),
            ("GET", base + "leaderboard/", {}, 2),
            ("GET", base + "leaderboard/?metric=engagement_rate", hx, 1),
            ("GET", base + "leaderboard/export.csv", {}, 1),
        ]
        for cid in creatives[pid][:6]:
            mix.append(("GET", f"{base}creatives/{cid}/", {}, 1))
        for cid in creatives[pid][:3] if can_override else []:
            mix.append(("POST", f"{base}creatives/{cid}/override/", hx, 1))
    return [(m, p, h) for m, p, h, w in mix for _ in range(w)]


def client_loop(base: str, cookie: str, mix, stats: Stats, stop: threading.Event, seed: int):
    rng = random.Random(seed)
    csrf = get_random_string(32)
    session = requests.Session()
    cookies = {"Cookie": f"{django_settings.SESSION_COOKIE_NAME}={cookie}; csrftoken={csrf}"}
    while not stop.is_set():
        method, path, headers = rng.choice(mix)
        data = None
        if method == "POST":
            headers = {**headers, "X-CSRFToken": csrf}
            data = {"override": rng.choice(["include", "exclude", "clear"]),
                    "note": f"load {seed}", "form_token": get_random_string(16),
                    "fragment": "row"}  # fmt: skip
        started = time.monotonic()
        try:
            response = session.request(
                method, base + path, headers={**headers, **cookies}, data=data,
                timeout=60, allow_redirects=False,
            )  # fmt: skip
            response.content  # noqa: B018 - read the whole body (CSV streams)
        except requests.RequestException as exc:
            stats.add(None, 0, f"{method} {path}: {type(exc).__name__}")
            continue
        seconds = time.monotonic() - started
        ok = response.status_code == 200 or (method == "POST" and response.status_code == 409)
        stats.add(
            response.status_code,
            seconds,
            None if ok else f"{method} {path}: {response.status_code}",
        )


def test_mixed_dashboard_traffic_while_a_sync_runs(sandbox_factory, settings, django_user_model):
    server = sandbox_factory(seed=31, projects=6, creatives_per_project=80)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    assert layers_sync(client=fast_client(server)).ok
    users = make_role_users(django_user_model)
    projects = list(Project.objects.filter(status="active").order_by("layers_id"))
    project_ids = [p.layers_id for p in projects]
    creatives = {
        p.layers_id: list(
            AdsContent.objects.filter(project=p)
            .order_by("layers_id")
            .values_list("layers_id", flat=True)
        )
        for p in projects
    }
    # 20 signed-in people: account managers of two projects each, support staff, superusers.
    people = []
    for i in range(CLIENTS):
        if i % 5 == 4:
            user = users["support"] if i % 10 == 4 else users["superuser"]
            visible = project_ids
        else:
            user = django_user_model.objects.create_user(f"am{i}", password="pw-load-2026-x")
            visible = [project_ids[i % len(project_ids)], project_ids[(i + 1) % len(project_ids)]]
            for pid in visible:
                Project.objects.get(layers_id=pid).account_managers.add(user)
            user.user_permissions.add(*users["manager"].user_permissions.all())
            user.groups.add(*users["manager"].groups.all())
        c = Client()
        c.force_login(user)
        can_override = user.has_perm("creatives.change_override")
        people.append((c.cookies[settings.SESSION_COOKIE_NAME].value, visible, can_override))

    port = free_port()
    gunicorn = start_gunicorn(server, port)
    base = f"http://127.0.0.1:{port}"
    stats, stop = Stats(), threading.Event()
    syncs: list[tuple[int, str]] = []

    def sync_loop():
        # Each run reads the list and content (as a timer's runs do when both are due).
        env = {
            **subprocess_env(server.base_url, server.keys["main"]),
            "LAYERS_CADENCE_MINUTES": "projects=0,containers=0",
        }
        while not stop.is_set():
            control(server, "advance", params={"hours": 2})
            proc = manage("sync_layers", "--quiet", env=env)
            out, err = proc.communicate(timeout=300)
            syncs.append((proc.returncode, (out + err)[-2000:]))

    threads = [threading.Thread(target=sync_loop, daemon=True)]
    for i, (cookie, visible, can_override) in enumerate(people):
        mix = user_mix(visible, creatives, can_override)
        threads.append(
            threading.Thread(
                target=client_loop, args=(base, cookie, mix, stats, stop, i), daemon=True
            )
        )
    try:
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=300)
        held = time.monotonic() - started
    finally:
        gunicorn.terminate()
        server_log = gunicorn.communicate(timeout=30)[0]

    # The server's first traceback, which says why (the log's tail is often other requests).
    first = server_log.find("Traceback")
    shown = server_log[first : first + 4000] if first >= 0 else server_log[-3000:]
    assert stats.errors == [], (stats.errors[:20], shown)
    assert syncs and all(code == 0 for code, _ in syncs), syncs
    assert stats.requests >= CLIENTS * 10
    assert not OverrideAudit.objects.filter(outcome="pending").exists()
    assert SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count() >= len(syncs)
    # Nothing lost under load: one more (incremental) sync and the cache is exactly the API's
    # state, after ~60 virtual hours of advances.
    final = layers_sync(client=fast_client(server))
    assert final.ok, final.errors
    diff = mirror_diff(server)
    assert diff.clean, (str(diff), final.synced, final.skipped, final.counts)
    latencies = sorted(stats.latencies)
    record_figure(
        "load",
        seconds=round(held, 1),
        clients=CLIENTS,
        requests=stats.requests,
        requests_per_second=round(stats.requests / held, 1),
        errors=len(stats.errors),
        by_status=stats.by_status,
        p50_ms=round(statistics.median(latencies) * 1000),
        p95_ms=round(latencies[int(len(latencies) * 0.95)] * 1000),
        max_ms=round(latencies[-1] * 1000),
        sync_runs_during_load=len(syncs),
        overrides=OverrideAudit.objects.count(),
        **diff.totals(),
    )
