"""Faults: ``manage.py sync_layers`` killed with SIGKILL at random points, then rerun,
converges to exactly the API's state; and (PostgreSQL) ten concurrent ``sync_layers``
processes do the work once and none fails.

The sandbox runs as its own process (``python -m sandbox``) so the kills only hit the sync.

Rerun: DEBUG=true .venv/bin/python -m pytest tests/reliability/test_sigkill.py -q
       (PostgreSQL: prefix DATABASE_URL=postgres://postgres@127.0.0.1:5432/layersadmin)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest
from django.db import connection

from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot, ScoreSample
from projects.models import Project
from sync.models import SyncLease, SyncRun
from tests.reliability.helpers import (
    SandboxProcess,
    control,
    manage,
    mirror_diff,
    record_figure,
    subprocess_env,
)

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

KILLS = 10
KILL_SEED = 2026


def _run_seconds(run: SyncRun) -> float:
    return (run.finished_at - run.started_at).total_seconds()


def _wait_for_run_start(proc: subprocess.Popen, after_id: int) -> SyncRun | None:
    """The SyncRun the process opened (it is syncing now), or None if it ended first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run = SyncRun.objects.filter(pk__gt=after_id).order_by("-pk").first()
        if run is not None or proc.poll() is not None:
            return run
        time.sleep(0.02)
    return None


def test_sync_killed_at_random_points_then_rerun_converges():
    rng = random.Random(KILL_SEED)
    with SandboxProcess(
        seed=5, projects=5, creatives_per_project=250, tier="unlimited", latency_ms=40
    ) as sandbox:
        env = subprocess_env(sandbox.base_url, sandbox.keys["main"])
        # How long a run takes (the first run reads everything, the second is incremental),
        # so the kills can land anywhere inside a run however fast the machine is.
        took = {}
        for kind in ("--full", "incremental"):
            control(sandbox, "advance", params={"hours": 2})
            done = manage("sync_layers", "--quiet", *([kind] if kind == "--full" else []), env=env)
            assert done.wait(timeout=300) == 0, done.communicate()
            took[kind] = _run_seconds(SyncRun.objects.order_by("-pk").first())
        killed, finished, delays = 0, 0, []
        for i in range(KILLS):
            control(sandbox, "advance", params={"hours": 2})  # every run has writes to make
            # Every other run is --full: it re-reads every page, so it runs longer.
            kind = "--full" if i % 2 else "incremental"
            last_id = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            proc = manage("sync_layers", "--quiet", *([kind] if i % 2 else []), env=env)
            run = _wait_for_run_start(proc, last_id)
            delay = round(rng.uniform(0.0, 0.9) * took[kind], 3)
            delays.append(delay)
            time.sleep(delay)
            if proc.poll() is None and run is not None:
                os.kill(proc.pid, signal.SIGKILL)
                run.refresh_from_db()
                killed += run.status == SyncRun.Status.RUNNING  # it died mid-run
                finished += run.status != SyncRun.Status.RUNNING
            else:
                finished += 1
            proc.communicate(timeout=30)
        rows_before_rerun = AdsContent.objects.count()

        started = time.monotonic()
        # Named projects or --full read every kind: what the killed runs left half done and
        # what upstream changed meanwhile (a plain run reads only what its cadence says is due).
        final = manage("sync_layers", "--full", env=env)
        out, err = final.communicate(timeout=180)
        rerun_seconds = time.monotonic() - started
        assert final.returncode == 0, (out, err)

        diff = mirror_diff(sandbox)
        assert diff.clean, str(diff)
        last = SyncRun.objects.order_by("-id").first()
        assert last.status == SyncRun.Status.SUCCEEDED
        # No project was skipped because a dead worker still held its lock.
        active = Project.objects.filter(is_gone=False).count()
        assert last.projects_synced == active, "a dead worker's lock kept a project from syncing"
        # Every killed run is recognised as dead, not left "running" forever.
        assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
        assert not SyncLease.objects.exists()
        record_figure(
            "sigkill",
            kills_attempted=KILLS,
            run_seconds={k: round(v, 2) for k, v in took.items()},
            killed_mid_run=killed,
            finished_before_kill=finished,
            kill_delays_s=delays,
            rows_before_rerun=rows_before_rerun,
            rerun_seconds=round(rerun_seconds, 1),
            upstream=diff.upstream,
            **diff.totals(),
        )
        assert killed >= KILLS // 2  # most kills really landed mid-run


def test_ten_concurrent_sync_processes_do_the_work_once():
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks across processes: runs in CI's PostgreSQL pass")
    workers = 10
    with SandboxProcess(
        seed=8, projects=12, creatives_per_project=40, tier="unlimited", latency_ms=5
    ) as sandbox:
        env = subprocess_env(sandbox.base_url, sandbox.keys["main"])
        started = time.monotonic()
        procs = [manage("sync_layers", env=env) for _ in range(workers)]
        outputs = [p.communicate(timeout=300) for p in procs]
        seconds = time.monotonic() - started
        failures = [(p.returncode, o, e) for p, (o, e) in zip(procs, outputs, strict=True)]
        assert all(p.returncode == 0 for p in procs), failures

        diff = mirror_diff(sandbox)
        assert diff.clean, str(diff)
        runs = list(SyncRun.objects.all())
        assert len(runs) == workers
        assert all(r.status == SyncRun.Status.SUCCEEDED for r in runs)
        projects = Project.objects.filter(is_gone=False).count()
        # Each row was written once, by one worker: the creates add up to exactly the rows
        # stored and no worker rewrote what another had written. (A worker whose run starts
        # after another finished a project may read it again; an unchanged read writes nothing.)
        created = {kind: 0 for kind in ("projects", "containers", "ads_content", "leaderboards")}
        updated = 0
        for run in runs:
            for kind, counts in run.counts.items():
                created[kind] += counts["created"]
                updated += counts["updated"] + counts["gone"]
        assert created == {
            "projects": projects,
            "containers": ContentContainer.objects.count(),
            "ads_content": AdsContent.objects.count(),
            "leaderboards": LeaderboardSnapshot.objects.count(),
        }
        assert updated == 0
        assert ScoreSample.objects.count() == AdsContent.objects.count()
        listed = [r for r in runs if r.projects_listed_at]
        assert 1 <= len(listed) <= workers
        record_figure(
            "concurrent",
            workers=workers,
            failed=0,
            seconds=round(seconds, 1),
            projects=projects,
            project_syncs=sum(r.projects_synced for r in runs),
            rows_written_once=sum(created.values()),
            rows_rewritten=updated,
            project_list_walks=len(listed),
            upstream=diff.upstream,
            **diff.totals(),
        )
