"""Measure 5: dashboard pages at full size, cached (the local copy) against pass-through.

Server time is the time one gunicorn sync worker on loopback takes to answer, measured by a
client that sends one request at a time on a new connection (the deployed stack: WSGI,
middleware, session, auth, view, queries, template; loopback adds about 0.2 ms). The
pass-through is the same app in a second gunicorn worker whose views read live from the
sandbox (bench/passthrough_wsgi.py), timed the same way. Settings are production-like (DEBUG
off). Queries per request are counted in-process with Django's test client and
``CaptureQueriesContext``, one request per page.

Why not time in-process: on this Python (3.11) the same view measured 25-52 ms in-process
depending only on how deep the caller's stack was (an interpreter effect, frame chunks
allocated and freed as deep template rendering crosses a boundary); a real server worker has
one fixed depth, which is what users get.
"""

from __future__ import annotations

import math
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.passthrough import floor
from bench.servers import Gunicorn, fetch, set_cookies
from creatives import selectors as cs
from creatives.models import AdsContent
from layersadmin.layers import get_client
from projects.models import Project

HX = {"HTTP_HX_REQUEST": "true"}
DEEP_PAGE = 100  # "a page 100 deep", or the last page when the project has fewer


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on the sorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms) if ms else float("nan"),
        "p95_ms": percentile(ms, 95),
        "mean_ms": statistics.fmean(ms) if ms else float("nan"),
        "min_ms": min(ms) if ms else float("nan"),
        "max_ms": max(ms) if ms else float("nan"),
    }


def bench_user():
    """A support user (group "Support": sees every project, may override)."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench-support", defaults={"is_staff": True}
    )
    group = Group.objects.filter(name="Support").first()
    if group is not None:
        user.groups.add(group)
    return user


def pick_project() -> Project:
    return (
        Project.objects.filter(is_gone=False, status=Project.Status.ACTIVE)
        .order_by("name", "id")
        .first()
    )


def deep_gallery(project: Project) -> tuple[int, int, str]:
    """(page number, items before it, cursor) of the gallery page DEEP_PAGE deep, or of the
    deepest full page when the project has fewer (2,000 containers make 83 full pages of 24).
    The cursor is the one the previous page's "Load more" carries (the last tile shown)."""
    total = cs.container_queryset(project=project).count()
    full_pages = max(1, total // cs.GALLERY_PAGE_SIZE)
    number = min(DEEP_PAGE, full_pages)
    before = (number - 1) * cs.GALLERY_PAGE_SIZE
    if before == 0:
        return number, 0, ""
    last_shown = cs.container_queryset(project=project)[before - 1]
    return number, before, cs.gallery_cursor(last_shown)


class PageSpec:
    def __init__(
        self,
        name: str,
        label: str,
        url: str,
        *,
        method: str = "GET",
        data: Callable[[int], dict] | None = None,
        slow_passthrough: bool = False,
        note: str = "",
    ) -> None:
        self.name, self.label, self.url, self.method = name, label, url, method
        self.data = data
        self.slow_passthrough = slow_passthrough
        self.note = note

    def fetch(self, port: int, cookies: dict[str, str], i: int):
        """(status, body, seconds, response) of one request to the server on ``port``."""
        if self.method == "POST":
            headers = {"HX-Request": "true", "X-CSRFToken": cookies.get("csrftoken", "")}
            body = urlencode(self.data(i)).encode()
            return fetch(port, "POST", self.url, cookies=cookies, headers=headers, body=body)
        return fetch(port, "GET", self.url, cookies=cookies)

    def count_queries(self, client: Client, i: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            if self.method == "POST":
                client.post(self.url, self.data(i), HTTP_HX_REQUEST="true")
            else:
                client.get(self.url)
        return len(queries.captured_queries)


def _time(spec: PageSpec, port: int, cookies: dict, reps: int, counter: int) -> tuple[dict, int]:
    """Warm up, then time ``reps`` requests of ``spec`` one after the other."""
    times, statuses, size, calls = [], set(), 0, []
    for _ in range(3 if reps > 1 else 1):
        counter += 1
        spec.fetch(port, cookies, counter)
    for _ in range(reps):
        counter += 1
        status, body, elapsed, response = spec.fetch(port, cookies, counter)
        times.append(elapsed)
        statuses.add(status)
        size = max(size, len(body))
        if response.getheader("X-Bench-Api-Calls") is not None:
            calls.append(int(response.getheader("X-Bench-Api-Calls")))
    result = {**summary_ms(times), "statuses": sorted(statuses), "bytes": size}
    if calls:
        result["api_calls"] = max(calls)
    return result, counter


def measure_pages(
    *,
    reps: int,
    passthrough_reps: int,
    passthrough_reps_slow: int,
    base_url: str,
    log_dir: str,
    latency_base_url: str = "",
    latency_ms: int = 0,
) -> dict:
    user = bench_user()
    project = pick_project()
    pid = project.layers_id
    depth, depth_items, cursor = deep_gallery(project)
    creatives = list(
        AdsContent.objects.filter(project=project, is_gone=False).order_by("layers_id")[:8]
    )
    gallery = reverse("project_gallery", kwargs={"project_id": pid})
    creative_list = reverse("creative_list", kwargs={"project_id": pid})

    def override_data(i: int) -> dict:
        return {
            "override": "include" if i % 2 == 0 else "clear",
            "note": "bench",
            "form_token": uuid.uuid4().hex,
            "next": creative_list,
            "fragment": "row",
        }

    override_url = reverse(
        "creative_override",
        kwargs={"project_id": pid, "ads_content_id": creatives[0].layers_id},
    )
    specs = [
        PageSpec("projects", "Projects list (/)", reverse("project_list"),
                 slow_passthrough=True, note="every project (support user)"),
        PageSpec("gallery_first", "Gallery, first page", gallery),
        PageSpec("gallery_deep", f"Gallery, page {depth}",
                 f"{gallery}?cursor={cursor}" if cursor else gallery,
                 note=f"page {depth} ({depth_items} containers in)"),
        PageSpec("leaderboard", "Project leaderboard",
                 reverse("project_leaderboard", kwargs={"project_id": pid})),
        PageSpec("creatives", "Creatives table", creative_list),
        PageSpec("agency_leaderboard", "Agency leaderboard", reverse("agency_leaderboard"),
                 slow_passthrough=True, note="every project (support user)"),
        PageSpec("override", "Override POST (htmx)", override_url, method="POST",
                 data=override_data,
                 note="includes the PATCH to the sandbox (and its customer check once a minute)"),
    ]  # fmt: skip

    client = Client()
    client.force_login(user)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    logs = Path(log_dir)
    results: dict[str, Any] = {
        "project": {"layers_id": pid, "name": project.name},
        "timing": "one gunicorn sync worker on loopback, one request at a time",
        "latency_ms": latency_ms if latency_base_url else None,
        "gallery_deep_page": depth,
        "gallery_deep_items_before": depth_items,
        "pages": {},
    }
    counter = 0
    cached: dict[str, dict] = {}
    with Gunicorn("layersadmin.wsgi", workers=1, log_path=logs / "pages-cached.log") as server:
        # A page sets the CSRF cookie the override form needs (as a browser would get it).
        *_, response = fetch(server.port, "GET", creative_list, cookies=cookies)
        cookies.update({k: v for k, v in set_cookies(response).items() if k == "csrftoken"})
        for spec in specs:
            cached[spec.name], counter = _time(spec, server.port, cookies, reps, counter)
    for spec in specs:
        counter += 1
        cached[spec.name]["queries"] = spec.count_queries(client, counter)

    passthrough: dict[str, dict] = {}
    slow: dict[str, dict] = {}
    runs = [("passthrough", base_url, passthrough)]
    if latency_base_url:
        runs.append(("passthrough-latency", latency_base_url, slow))
    for label, url, into in runs:
        with Gunicorn(
            "bench.passthrough_wsgi:application",
            workers=1,
            log_path=logs / f"pages-{label}.log",
            env={"BENCH_LIVE_BASE_URL": url},
        ) as server:
            for spec in specs:
                if into is slow and spec.name == "projects":
                    continue  # a thousand calls at 50 ms each: close to a minute per answer
                n = passthrough_reps_slow if spec.slow_passthrough else passthrough_reps
                if into is slow and spec.slow_passthrough:
                    n = 1
                into[spec.name], counter = _time(spec, server.port, cookies, n, counter)

    # The floor: the fewest API calls any live answer needs, no rendering (in-process).
    api = get_client(tier="unlimited")  # both page sandboxes are unlimited
    for spec in specs:
        floor_result = None
        if spec.name != "override":
            floor_times, floor_calls = [], 0
            n = passthrough_reps_slow if spec.slow_passthrough else passthrough_reps
            for _ in range(max(1, n)):
                before = api.stats.calls
                started = time.perf_counter()
                floor(api, spec.name, project_id=pid, depth_items=depth_items)
                floor_times.append(time.perf_counter() - started)
                floor_calls = api.stats.calls - before
            floor_result = {**summary_ms(floor_times), "api_calls": floor_calls}
        c, pt, sl = cached[spec.name], passthrough[spec.name], slow.get(spec.name)
        results["pages"][spec.name] = {
            "label": spec.label,
            "url": spec.url,
            "note": spec.note,
            "cached": c,
            "passthrough": pt,
            "passthrough_latency": sl,
            "floor": floor_result,
            "ratio_median": pt["median_ms"] / c["median_ms"],
            "ratio_p95": pt["p95_ms"] / c["p95_ms"],
            "ratio_latency_median": sl["median_ms"] / c["median_ms"] if sl else None,
        }
    api.close()
    pages = results["pages"]
    results["gallery_queries_first_vs_deep"] = [
        pages["gallery_first"]["cached"]["queries"],
        pages["gallery_deep"]["cached"]["queries"],
    ]
    return results
