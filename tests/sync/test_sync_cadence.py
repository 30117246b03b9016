"""Cadences: ``sync_layers`` without arguments reads each kind of a project when it is due,
stalest projects first; named projects and ``--full`` read everything."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from projects.models import Project
from sync.services import layers_sync
from sync.services.specs import (
    CONTAINERS,
    LEADERBOARDS,
    SCORED_CREATIVES,
    full_walk_due,
    phase_due,
)
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def test_a_due_only_run_reads_only_what_is_due(synced):
    client = make_client(synced)
    first = layers_sync(client=client, due_only=True)  # after `synced`: nothing is due yet
    assert first.ok and first.idle and first.run.pk is None  # an idle run leaves no record
    read = Project.objects.filter(is_gone=False)
    assert not read.filter(content_read_at__isnull=True).exists()
    assert not read.filter(creatives_read_at__isnull=True).exists()
    project = read.order_by("layers_id").first()
    Project.objects.filter(pk=project.pk).update(
        content_read_at=timezone.now() - CONTAINERS.cadence - timedelta(seconds=1)
    )
    calls = client.stats.calls
    second = layers_sync(client=client, due_only=True)
    assert second.ok and second.synced == [project.layers_id]
    assert set(second.counts) == {"projects", "containers"}  # only its content was due
    content_only = client.stats.calls - calls
    assert content_only >= 1
    Project.objects.filter(pk=project.pk).update(
        content_read_at=timezone.now() - CONTAINERS.cadence - timedelta(seconds=1),
        creatives_read_at=timezone.now() - SCORED_CREATIVES.cadence - timedelta(seconds=1),
    )
    calls = client.stats.calls
    third = layers_sync(client=client, due_only=True)
    assert third.ok and third.counts["ads_content"].unchanged > 0
    assert "leaderboards" not in third.counts  # boards not due yet
    assert client.stats.calls - calls > content_only  # its creatives were read too


def test_cadences_follow_the_freshness_targets_the_timer_and_the_setting(settings):
    settings.LAYERS_CADENCE_MINUTES = {}
    settings.LAYERS_SYNC_EVERY_MINUTES = 1
    # Target less the timer's interval (the wait for the next run), less a tenth (the queue).
    assert CONTAINERS.cadence == timedelta(minutes=12.6)
    assert SCORED_CREATIVES.cadence == LEADERBOARDS.cadence == timedelta(minutes=53.1)
    settings.LAYERS_SYNC_EVERY_MINUTES = 15  # a 15-minute cron: content every run
    assert CONTAINERS.cadence == timedelta(0)
    assert SCORED_CREATIVES.cadence == timedelta(minutes=40.5)
    settings.LAYERS_CADENCE_MINUTES = {"ads_content": 5}
    assert SCORED_CREATIVES.cadence == timedelta(minutes=5)


def test_due_times_spread_over_the_period_and_keep_its_bounds():
    """Each project falls due at its own phase: never sooner than half a period after a
    read, always by one period after it, and a crowd of projects read at the same moment
    falls due spread over the period rather than all at once."""
    period = timedelta(minutes=60)
    read = timezone.now().replace(microsecond=0)
    second_due = []
    for n in range(200):
        seed = f"ads_content:{n}"
        assert not phase_due(read, read + period / 2 - timedelta(seconds=1), period, seed)
        assert phase_due(read, read + period, period, seed)
        first = next(
            m for m in range(30, 61) if phase_due(read, read + timedelta(minutes=m), period, seed)
        )
        again = read + timedelta(minutes=first)  # read when first due
        second = next(
            m for m in range(30, 61) if phase_due(again, again + timedelta(minutes=m), period, seed)
        )
        second_due.append(first + second)
    # After one read on phase, projects read at the same moment fall due spread over the
    # period: no minute holds more than a small share of them.
    assert max(second_due.count(m) for m in set(second_due)) < 200 * 0.1
    assert max(second_due) - min(second_due) >= 50


def test_a_full_walk_falls_due_once_a_day_at_the_projects_own_time(settings):
    settings.LAYERS_CADENCE_MINUTES = {}
    now = timezone.now()
    walked_today = SimpleNamespace(key="p1", creatives_full_at=now - timedelta(hours=1))
    walked_yesterday = SimpleNamespace(key="p1", creatives_full_at=now - timedelta(hours=25))
    never = SimpleNamespace(key="p1", creatives_full_at=None)
    assert not full_walk_due(walked_today, now)
    assert full_walk_due(walked_yesterday, now) and full_walk_due(never, now)


def test_stalest_projects_go_first(synced):
    projects = list(Project.objects.filter(is_gone=False).order_by("layers_id"))
    now = timezone.now()
    for age, project in zip((70, 90, 80, 100), projects, strict=False):
        Project.objects.filter(pk=project.pk).update(
            content_read_at=now - timedelta(minutes=age),
            creatives_read_at=now - timedelta(minutes=age),
            boards_read_at=now - timedelta(minutes=age),
        )
    order: list[str] = []
    layers_sync(
        client=make_client(synced),
        due_only=True,
        progress=lambda stage, project: order.append(project.layers_id) if project else None,
    )
    ages = {p.layers_id: age for age, p in zip((70, 90, 80, 100), projects, strict=False)}
    assert [ages[pid] for pid in order] == sorted(ages.values(), reverse=True)


def test_the_command_reads_what_is_due_and_names_failed_projects(synced, capsys):
    call_command("sync_layers")
    assert "nothing due" in capsys.readouterr().out  # `synced` has just read everything
    Project.objects.update(content_read_at=timezone.now() - timedelta(minutes=20))
    call_command("sync_layers")
    assert "synced" in capsys.readouterr().out
    project = Project.objects.filter(status="active").order_by("layers_id").first()
    # The project's GET answers (a 1 ms "slow" fault); everything after it fails.
    faults = {"rate": 1.0, "kinds": ["500"], "next": ["slow"], "slowMs": 1}
    requests.post(f"{synced.root_url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()
    with pytest.raises(CommandError):
        call_command("sync_layers", "--project", project.layers_id)
    captured = capsys.readouterr()
    assert f"FAILED {project.layers_id}" in captured.out
    assert f"projects that failed: {project.layers_id}" in captured.err


def _make_recent_read_due(project_filter=None):
    """Scored creatives due for a recent read but not for a full walk."""
    now = timezone.now()
    Project.objects.update(
        creatives_read_at=now - SCORED_CREATIVES.cadence - timedelta(seconds=1),
        creatives_full_at=now,
    )


def _upstream_creatives(server) -> dict[str, dict]:
    from bench.dialects import upstream
    from layersadmin.layers.ids import id_key

    rows = {}
    for project in Project.objects.filter(is_gone=False, status="active"):
        for item in upstream(server, f"/projects/{project.layers_id}/ads-content"):
            rows[id_key(item["adsContentId"])] = item
    return rows


@pytest.mark.parametrize("dialect", ["seed", "variant"])
def test_a_recent_read_catches_rescores_and_overrides_with_few_calls(
    sandbox_factory, settings, dialect
):
    from django.db.models import F

    from creatives.models import AdsContent

    server = sandbox_factory(dialect=dialect, projects=3, creatives_per_project=300)
    settings.LAYERS_API_BASE_URL, settings.LAYERS_API_KEY = server.base_url, server.keys["main"]
    client = make_client(server)
    assert layers_sync(client=client, due_only=True).ok
    full_calls = client.stats.calls
    requests.post(f"{server.root_url}/_sandbox/advance", json={"hours": 2}, timeout=30)
    # An override cleared by someone else, upstream.
    row = AdsContent.objects.exclude(override="").filter(project__status="active").first()
    requests.patch(
        f"{server.base_url}/projects/{row.project.layers_id}/ads-content/{row.layers_id}",
        json={"override": None},
        headers={"Authorization": f"Bearer {server.keys['teammate']}"},
        timeout=5,
    ).raise_for_status()
    _make_recent_read_due()
    calls = client.stats.calls
    result = layers_sync(client=client, due_only=True)
    assert result.ok, result.errors
    recent_calls = client.stats.calls - calls
    upstream_rows = _upstream_creatives(server)
    stored = {r.key: r for r in AdsContent.objects.filter(project__status="active", is_gone=False)}
    wrong = [
        key
        for key, item in upstream_rows.items()
        if key in stored
        and (
            stored[key].organic_score != item["organicScore"]
            or stored[key].override != (item["override"] or "")
        )
    ]
    assert not wrong
    row.refresh_from_db()
    assert row.override == "" and row.override_note == ""
    assert set(upstream_rows) <= set(stored)  # nothing lost
    active = Project.objects.filter(status="active", is_gone=False)
    if dialect == "seed":
        assert recent_calls < full_calls / 2  # a few pages, not every page
        # Read since, but not walked whole: the full walk was not due.
        assert active.filter(creatives_read_at__gt=F("creatives_full_at")).count() == len(active)
    else:
        # The variant refuses the REFERENCE-only sort: every recent read became a full walk.
        assert any(name == "sort" for _, name in client.stats.dropped_params)


def test_a_run_goes_on_while_work_falls_due(synced):
    """Work that falls due while a run goes on is done by that run, not at the next tick."""
    first, second = Project.objects.filter(is_gone=False).order_by("layers_id")[:2]
    long_ago = timezone.now() - timedelta(hours=2)
    Project.objects.filter(pk=first.pk).update(content_read_at=long_ago)

    def falls_due(stage, project):
        if stage == "project" and project.pk == first.pk:
            Project.objects.filter(pk=second.pk).update(content_read_at=long_ago)

    result = layers_sync(client=make_client(synced), due_only=True, progress=falls_due)
    assert result.ok and result.synced == [first.layers_id, second.layers_id]
    second.refresh_from_db()
    assert second.content_read_at > long_ago
