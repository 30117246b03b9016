"""One benchmark step in a process of its own, bound to one database (Django settings read
DATABASE_URL once, at import). The runner starts it as ``python -m bench.worker TASK --out
FILE --opts JSON`` with the environment it needs; it writes its figures to FILE as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def table_counts() -> dict[str, int]:
    from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot, ScoreSample
    from projects.models import Project

    return {
        "projects": Project.objects.count(),
        "containers": ContentContainer.objects.count(),
        "ads_content": AdsContent.objects.count(),
        "score_samples": ScoreSample.objects.count(),
        "leaderboard_snapshots": LeaderboardSnapshot.objects.count(),
    }


def written_since(moment) -> dict[str, int]:
    """Mirrored rows whose synced_at moved at or after ``moment`` (a row rewritten with the
    same values counts too: this is what the database saw, not what the sync reports)."""
    from creatives.models import AdsContent, ContentContainer
    from projects.models import Project

    return {
        "projects": Project.objects.filter(synced_at__gte=moment).count(),
        "containers": ContentContainer.objects.filter(synced_at__gte=moment).count(),
        "ads_content": AdsContent.objects.filter(synced_at__gte=moment).count(),
    }


def task_migrate(opts: dict) -> dict:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    return {"wall_s": time.perf_counter() - started}


def task_analyze(opts: dict) -> dict:
    """What a sync run leaves behind for the planner (a kept mirror skipped its sync)."""
    from sync.services.runs import planner_statistics_refresh

    planner_statistics_refresh()
    return {"ok": True}


def _profile_start(opts: dict):
    if not opts.get("profile"):
        return None
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    return profiler


def _profile_stop(profiler, opts: dict) -> str | None:
    if profiler is None:
        return None
    profiler.stop()
    path = Path(opts["profile"])
    path.write_text(profiler.output_html())
    path.with_suffix(".txt").write_text(profiler.output_text(unicode=True, color=False))
    return str(path)


def task_sync(opts: dict) -> dict:
    from django.utils import timezone

    from layersadmin.layers import get_client
    from sync.services import layers_sync

    # The tier this run measures (the runner names it for the paced run); otherwise the
    # benchmark's sandboxes are unlimited and the client must not pace.
    client = get_client(tier=opts.get("tier") or "unlimited")
    before = table_counts()
    rss_before = rss_mb()
    if opts.get("tracemalloc"):
        tracemalloc.start()
    traced_base = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    started_at = timezone.now()
    profiler = _profile_start(opts)
    started = time.perf_counter()
    cpu = time.process_time()
    result = layers_sync(
        project_ids=opts.get("project_ids") or None,
        full=bool(opts.get("full")),
        client=client,
        trigger="bench",
    )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    profile = _profile_stop(profiler, opts)
    traced_peak = None
    if tracemalloc.is_tracing():
        traced_peak = tracemalloc.get_traced_memory()[1] - traced_base
        tracemalloc.stop()
    client.close()
    after = table_counts()
    counts = {kind: c.as_dict() for kind, c in result.counts.items()}
    rows = sum(
        counts.get(kind, {}).get(name, 0)
        for kind in ("containers", "ads_content")
        for name in ("created", "updated")
    )
    run = result.run
    return {
        "ok": result.ok,
        "errors": result.errors[:5],
        "wall_s": wall,
        "cpu_s": cpu,
        "counts": counts,
        "rows": rows,  # containers + ads-content written (created or updated)
        "rows_per_s": rows / wall if wall else 0.0,
        "rows_written": result.rows_written,  # every kind, as the sync reports it
        "api_calls": run.api_calls,
        "retries": run.retries,
        "throttled_429": run.throttled,
        "projects_synced": run.projects_synced,
        "projects_skipped": run.projects_skipped,
        "tables_before": before,
        "tables_after": after,
        "db_rows_touched": written_since(started_at),
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak_rss_mb(),
        "tracemalloc_peak_kb": None if traced_peak is None else traced_peak / 1024,
        "profile": profile,
    }


def task_naive(opts: dict) -> dict:
    from bench.naive import naive_sync
    from layersadmin.layers import get_client

    client = get_client(tier="unlimited")  # the benchmark's unlimited sandbox
    try:
        result = naive_sync(client, opts["project_ids"])
    finally:
        client.close()
    result["tables_after"] = table_counts()
    return result


def task_pages(opts: dict) -> dict:
    from bench.pages import measure_pages

    profiler = _profile_start(opts)
    result = measure_pages(
        reps=opts["reps"],
        passthrough_reps=opts["passthrough_reps"],
        passthrough_reps_slow=opts["passthrough_reps_slow"],
        base_url=os.environ["LAYERS_API_BASE_URL"],
        log_dir=opts["log_dir"],
        latency_base_url=opts.get("latency_base_url", ""),
        latency_ms=opts.get("latency_ms", 0),
    )
    result["profile"] = _profile_stop(profiler, opts)
    return result


def task_load(opts: dict) -> dict:
    from django.test import Client
    from django.urls import reverse

    from bench.load import run_load
    from bench.pages import bench_user, deep_gallery, pick_project
    from projects.models import Project

    user = bench_user()
    # Twenty signed-in sessions, used in turn, as twenty people would be (each session is
    # renewed at most once a minute, layersadmin.middleware).
    cookies = []
    for _ in range(20):
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    paths = [reverse("project_list"), reverse("agency_leaderboard")]
    if opts.get("overview"):  # bench.speed: every dashboard page of issue 16's mix
        paths.append(reverse("project_detail", kwargs={"project_id": pick_project().layers_id}))
    projects = list(
        Project.objects.filter(is_gone=False, status=Project.Status.ACTIVE).order_by("name")[:3]
    ) or [pick_project()]
    for project in projects:
        pid = project.layers_id
        gallery = reverse("project_gallery", kwargs={"project_id": pid})
        _, _, cursor = deep_gallery(project)
        paths += [
            gallery,
            f"{gallery}?cursor={cursor}" if cursor else gallery,
            reverse("project_leaderboard", kwargs={"project_id": pid}),
            reverse("creative_list", kwargs={"project_id": pid}),
        ]
    tuning = {k: opts[k] for k in ("workers", "threads") if opts.get(k)}
    return run_load(
        paths=paths,
        cookies=cookies,
        seconds=opts["seconds"],
        probe_seconds=opts["probe_seconds"],
        log_path=opts["log"],
        **tuning,
    )


def task_speed_pages(opts: dict) -> dict:
    from bench.speed_pages import measure_speed

    return measure_speed(
        reps=opts["reps"],
        log_dir=opts["log_dir"],
        profile_dir=opts.get("profile_dir", ""),
        only=opts.get("only"),
    )


TASKS = {
    "migrate": task_migrate,
    "analyze": task_analyze,
    "sync": task_sync,
    "naive": task_naive,
    "pages": task_pages,
    "load": task_load,
    "speed_pages": task_speed_pages,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--opts", default="{}")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layersadmin.settings")
    import django

    django.setup()
    result: dict[str, Any] = TASKS[args.task](json.loads(args.opts))
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
