"""Issue 16's page measure (run by ``bench.speed`` in a worker process bound to one database).

Every dashboard page a signed-in support user can open, at full scale: server time through
one gunicorn worker on loopback (as ``bench.pages`` times it: one request at a time, a new
connection each, warm-up first), SQL queries and the HTML it sends, and how many rows that
HTML carries, so its size can be read per 50 rows. Queries and rows come from one request
of the test client in this process (``response.context`` names the rows shown).

``--profile`` adds a cProfile of each page in this process (``profile_reps`` requests of the
test client) to the work folder: where the time goes, not how long it takes (in-process
times differ from a server worker's, ``bench.pages``' docstring says why).
"""

from __future__ import annotations

import cProfile
import io
import pstats
from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
from django.urls import Resolver404, resolve, reverse

from bench.pages import PageSpec, _time, bench_user, deep_gallery, pick_project
from bench.servers import Gunicorn
from creatives.models import AdsContent


def _rows(context: Any) -> int | None:
    """How many list rows (tiles, table rows, board rows) the page shows, if it lists any."""
    if context is None:
        return None

    def get(name: str) -> Any:
        try:
            return context[name]
        except KeyError:
            return None

    for name, attribute in (("page", "items"), ("queue", "items"), ("board", "rows")):
        holder = get(name)
        items = getattr(holder, attribute, None) if holder is not None else None
        if items is not None:
            return len(items)
    for name in ("rows", "projects"):
        items = get(name)
        if items is not None and not isinstance(items, str):
            return len(items)
    return None


def page_specs() -> tuple[list[PageSpec], dict[str, Any]]:
    """Every dashboard page (GET), for the project ``bench.pages`` measures."""
    project = pick_project()
    pid = project.layers_id
    depth, depth_items, cursor = deep_gallery(project)
    creative = (
        AdsContent.objects.filter(project=project, is_gone=False)
        .order_by("-organic_score", "-layers_id")
        .first()
    )
    gallery = reverse("project_gallery", kwargs={"project_id": pid})
    creatives = reverse("creative_list", kwargs={"project_id": pid})
    specs = [
        PageSpec("projects", "Projects list (/)", reverse("project_list")),
        PageSpec("overview", "Project overview",
                 reverse("project_detail", kwargs={"project_id": pid})),
        PageSpec("gallery_first", "Gallery, first page", gallery),
        PageSpec("gallery_deep", f"Gallery, page {depth}",
                 f"{gallery}?cursor={cursor}" if cursor else gallery),
        PageSpec("leaderboard", "Project leaderboard",
                 reverse("project_leaderboard", kwargs={"project_id": pid})),
        PageSpec("creatives", "Creatives table", creatives),
        PageSpec("creatives_spend", "Creatives table, by spend, 7 days",
                 f"{creatives}?sort=spend_desc&window=7d"),
        PageSpec("creative_detail", "One creative",
                 reverse("creative_detail", kwargs={"project_id": pid,
                                                    "ads_content_id": creative.layers_id})),
        PageSpec("review", "Needs review (project)",
                 reverse("project_review_queue", kwargs={"project_id": pid})),
        PageSpec("agency_leaderboard", "Agency leaderboard", reverse("agency_leaderboard")),
        PageSpec("agency_review", "Needs review (agency)", reverse("agency_review_queue")),
    ]  # fmt: skip
    try:  # the cross-project creatives page, where it exists (issue 16)
        resolve("/creatives/")
        specs.append(PageSpec("all_creatives", "Creatives, every project", "/creatives/"))
    except Resolver404:
        pass
    meta = {"project": {"layers_id": pid, "name": project.name}, "gallery_deep_page": depth}
    return specs, meta


def _profile(client: Client, spec: PageSpec, reps: int, path: Path) -> list[str]:
    """cProfile ``reps`` requests of one page; the 25 costliest functions (cumulative)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(reps):
        client.get(spec.url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(60)
    path.write_text(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(25)
    path.with_suffix(".tottime.txt").write_text(out.getvalue())
    return [str(path)]


def measure_speed(
    *,
    reps: int,
    log_dir: str,
    profile_dir: str = "",
    profile_reps: int = 20,
    only: list[str] | None = None,
) -> dict[str, Any]:
    setup_test_environment()  # response.context for the row counts (this process only)
    user = bench_user()
    specs, meta = page_specs()
    if only:
        specs = [spec for spec in specs if spec.name in only]
    client = Client()
    client.force_login(user)
    cookies = {"sessionid": client.cookies["sessionid"].value}
    results: dict[str, Any] = {
        **meta,
        "timing": "one gunicorn sync worker on loopback, one request at a time",
        "pages": {},
    }
    counter = 0
    with Gunicorn(
        "layersadmin.wsgi", workers=1, log_path=Path(log_dir) / "speed-pages.log"
    ) as server:
        for spec in specs:
            results["pages"][spec.name], counter = _time(spec, server.port, cookies, reps, counter)
    for spec in specs:
        page = results["pages"][spec.name]
        with CaptureQueriesContext(connection) as queries:
            response = client.get(spec.url)
        rows = _rows(response.context)
        page.update(
            {
                "label": spec.label,
                "url": spec.url,
                "status": response.status_code,
                "queries": len(queries.captured_queries),
                "rows": rows,
                "bytes_per_50_rows": page["bytes"] * 50 / rows if rows else None,
            }
        )
        if profile_dir:
            target = Path(profile_dir) / f"speed-{spec.name}.txt"
            page["profile"] = _profile(client, spec, profile_reps, target)
    return results
