"""Measure 5: dashboard pages at full size, cached (the local copy) against pass-through.

Server time is measured in-process with Django's test client: the whole stack from the
request object to the response (middleware, session, auth, view, queries, template), not
the network. Settings are production-like (DEBUG off: no query logging). Queries per request
are counted on one further request per page with ``CaptureQueriesContext`` (which turns
query logging on, so it is kept out of the timed requests).
"""

from __future__ import annotations

import math
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.passthrough import Live, floor
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
        headers: dict | None = None,
        slow_passthrough: bool = False,
        note: str = "",
    ) -> None:
        self.name, self.label, self.url, self.method = name, label, url, method
        self.data = data
        self.headers = headers or {}
        self.slow_passthrough = slow_passthrough
        self.note = note

    def send(self, client: Client, i: int):
        if self.method == "POST":
            return client.post(self.url, self.data(i), **self.headers)
        return client.get(self.url, **self.headers)


def _passthrough(
    spec: PageSpec, client: Client, live: Live, reps: int, counter: int
) -> tuple[dict, int]:
    """Time ``reps`` answers of ``spec`` read live through ``live`` (after one warm-up)."""
    api = live.client
    times, calls, statuses, size = [], [], set(), 0
    with live.request():
        counter += 1
        spec.send(client, counter)  # warm-up (connection, code paths, lazy generation)
    for _ in range(reps):
        counter += 1
        before = api.stats.calls
        with live.request():
            started = time.perf_counter()
            response = spec.send(client, counter)
            times.append(time.perf_counter() - started)
        calls.append(api.stats.calls - before)
        statuses.add(response.status_code)
        size = max(size, len(response.content))
    result = {
        **summary_ms(times),
        "api_calls": max(calls) if calls else 0,
        "statuses": sorted(statuses),
        "bytes": size,
    }
    return result, counter


def measure_pages(
    *,
    reps: int,
    passthrough_reps: int,
    passthrough_reps_slow: int,
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

    def override_url() -> str:
        row = creatives[0]
        return reverse(
            "creative_override", kwargs={"project_id": pid, "ads_content_id": row.layers_id}
        )

    specs = [
        PageSpec(
            "projects",
            "Projects list (/)",
            reverse("project_list"),
            slow_passthrough=True,
            note="every project (support user)",
        ),
        PageSpec("gallery_first", "Gallery, first page", gallery),
        PageSpec(
            "gallery_deep",
            f"Gallery, page {depth}",
            f"{gallery}?cursor={cursor}" if cursor else gallery,
            note=f"page {depth} ({depth_items} containers in)",
        ),
        PageSpec(
            "leaderboard",
            "Project leaderboard",
            reverse("project_leaderboard", kwargs={"project_id": pid}),
        ),
        PageSpec("creatives", "Creatives table", creative_list),
        PageSpec(
            "agency_leaderboard",
            "Agency leaderboard",
            reverse("agency_leaderboard"),
            slow_passthrough=True,
            note="every project (support user)",
        ),
        PageSpec(
            "override",
            "Override POST (htmx)",
            override_url(),
            method="POST",
            data=override_data,
            headers=HX,
            note="includes the PATCH to the sandbox (and its customer check once a minute)",
        ),
    ]

    client = Client()
    client.force_login(user)
    api = get_client()
    live = Live(api)
    live_slow = Live(get_client(base_url=latency_base_url)) if latency_base_url else None
    results: dict[str, Any] = {
        "project": {"layers_id": pid, "name": project.name},
        "latency_ms": latency_ms if latency_base_url else None,
        "gallery_deep_page": depth,
        "gallery_deep_items_before": depth_items,
        "pages": {},
    }
    counter = 0
    for spec in specs:
        # Cached: warm up, time, then count the queries of one more request.
        for _ in range(3):
            counter += 1
            response = spec.send(client, counter)
        times = []
        sizes = set()
        statuses = set()
        for _ in range(reps):
            counter += 1
            started = time.perf_counter()
            response = spec.send(client, counter)
            times.append(time.perf_counter() - started)
            statuses.add(response.status_code)
            sizes.add(len(response.content))
        counter += 1
        with CaptureQueriesContext(connection) as queries:
            response = spec.send(client, counter)
        cached = {
            **summary_ms(times),
            "queries": len(queries.captured_queries),
            "statuses": sorted(statuses),
            "bytes": max(sizes) if sizes else 0,
        }

        # Pass-through: the same view, reading live.
        n = passthrough_reps_slow if spec.slow_passthrough else passthrough_reps
        passthrough, counter = _passthrough(spec, client, live, n, counter)

        # The same pass-through against a sandbox that adds latency to every call (the
        # standard tier line's 50 ms): closer to a real API over a network. The projects list
        # is left out: it needs a thousand calls (close to a minute per answer).
        slow = None
        if live_slow is not None and spec.name != "projects":
            slow, counter = _passthrough(
                spec, client, live_slow, 1 if spec.slow_passthrough else n, counter
            )

        # The floor: the fewest API calls any live answer needs, no rendering.
        floor_result = None
        if spec.name != "override":
            floor_times, floor_calls = [], 0
            for _ in range(max(1, n)):
                before = api.stats.calls
                started = time.perf_counter()
                floor(api, spec.name, project_id=pid, depth_items=depth_items)
                floor_times.append(time.perf_counter() - started)
                floor_calls = api.stats.calls - before
            floor_result = {**summary_ms(floor_times), "api_calls": floor_calls}

        results["pages"][spec.name] = {
            "label": spec.label,
            "url": spec.url,
            "note": spec.note,
            "cached": cached,
            "passthrough": passthrough,
            "passthrough_latency": slow,
            "floor": floor_result,
            "ratio_median": passthrough["median_ms"] / cached["median_ms"],
            "ratio_p95": passthrough["p95_ms"] / cached["p95_ms"],
            "ratio_latency_median": slow["median_ms"] / cached["median_ms"] if slow else None,
        }
    api.close()
    if live_slow is not None:
        live_slow.client.close()
    pages = results["pages"]
    results["gallery_queries_first_vs_deep"] = [
        pages["gallery_first"]["cached"]["queries"],
        pages["gallery_deep"]["cached"]["queries"],
    ]
    return results
