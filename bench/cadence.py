"""API calls per project per hour at the default cadences, against reading everything every
run. ``python -m bench.cadence [--projects 5] [--creatives 2000] [--hours 3]``.

Runs ``sync_layers``'s work every 15 simulated minutes for ``--hours``: between two runs the
sandbox's clock moves 15 minutes (``/_sandbox/advance``: new content, rescores, overrides) and
every project's read times move 15 minutes back, which is what 15 minutes passing means to
the cadences. The same schedule is run twice on a fresh database, once with the cadences
(``due_only``) and once reading every kind every run (the behaviour before cadences). Calls
are counted by the client. From the per-project rate it projects how many projects one key
keeps within their freshness targets at tier ``standard`` (120 reads a minute, less the
headroom kept for people).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

import requests

from bench.standalone import django_setup

RUN_EVERY = timedelta(minutes=15)
STANDARD_READS_PER_MINUTE = 120
PEOPLE_HEADROOM = 0.10  # share of the budget left for people's requests (bench estimate)


def schedule(server, *, hours: float, due_only: bool) -> list[int]:
    """Calls per run over ``hours`` of 15-minute runs, the first run included."""
    from django.db.models import F

    from layersadmin.layers import LayersClient
    from projects.models import Project
    from sync.services import layers_sync

    client = LayersClient(base_url=server.base_url, api_key=server.keys["main"], tier="unlimited")
    calls = []
    for index in range(int(hours * 60 / 15)):
        if index:
            requests.post(f"{server.root_url}/_sandbox/advance", json={"hours": 0.25}, timeout=60)
            Project.objects.update(
                content_read_at=F("content_read_at") - RUN_EVERY,
                creatives_read_at=F("creatives_read_at") - RUN_EVERY,
                boards_read_at=F("boards_read_at") - RUN_EVERY,
            )
        before = client.stats.calls
        result = layers_sync(client=client, due_only=due_only)
        assert result.ok, result.errors
        calls.append(client.stats.calls - before)
    client.close()
    return calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cadence", description=__doc__)
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--creatives", type=int, default=2000)
    parser.add_argument("--hours", type=float, default=3)
    args = parser.parse_args(argv)
    database = django_setup("cadence")
    from django.core.management import call_command
    from django.db import connections

    from projects.models import Project
    from sandbox.server import PINNED_NOW, SandboxServer

    figures = {}
    for label, due_only in (("every kind every run", False), ("cadences", True)):
        connections.close_all()  # an open connection would keep the old file alive
        database.unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        with SandboxServer(
            seed=7,
            projects=args.projects,
            creatives_per_project=args.creatives,
            tier="unlimited",
            now=PINNED_NOW,
        ) as server:
            calls = schedule(server, hours=args.hours, due_only=due_only)
        projects = Project.objects.filter(is_gone=False).count()
        steady = calls[1:]  # the first run reads everything of a new mirror either way
        per_project_hour = sum(steady) / projects / (len(steady) * 15 / 60)
        figures[label] = per_project_hour
        print(f"{label:<22} calls per run {calls}  ->  {per_project_hour:.1f} calls/project/hour")
    budget = STANDARD_READS_PER_MINUTE * 60 * (1 - PEOPLE_HEADROOM)
    for label, rate in figures.items():
        print(f"{label:<22} projects one standard key keeps fresh: {budget / rate:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
