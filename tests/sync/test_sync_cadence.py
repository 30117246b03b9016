"""Cadences: ``sync_layers`` without arguments reads each kind of a project when it is due,
stalest projects first; named projects and ``--full`` read everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from projects.models import Project
from sync.services import layers_sync
from sync.services.specs import CONTAINERS, LEADERBOARDS, SCORED_CREATIVES
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def test_a_due_only_run_reads_only_what_is_due(synced):
    client = make_client(synced)
    first = layers_sync(client=client, due_only=True)  # after `synced`: every kind read
    assert first.ok
    read = Project.objects.filter(is_gone=False)
    assert not read.filter(content_read_at__isnull=True).exists()
    assert not read.filter(creatives_read_at__isnull=True).exists()
    calls = client.stats.calls
    second = layers_sync(client=client, due_only=True)
    assert second.ok and set(second.counts) == {"projects", "containers"}  # only content due
    content_only = client.stats.calls - calls
    project = read.order_by("layers_id").first()
    Project.objects.filter(pk=project.pk).update(
        creatives_read_at=timezone.now() - SCORED_CREATIVES.cadence - timedelta(seconds=1)
    )
    calls = client.stats.calls
    third = layers_sync(client=client, due_only=True)
    assert third.ok and third.counts["ads_content"].unchanged > 0
    assert "leaderboards" not in third.counts  # boards not due yet
    assert client.stats.calls - calls > content_only  # one project's creatives walk more


def test_cadences_follow_the_freshness_targets_and_the_setting(settings):
    settings.LAYERS_CADENCE_MINUTES = {}
    assert CONTAINERS.cadence == timedelta(0)  # every run: content at most 15 minutes old
    assert SCORED_CREATIVES.cadence == LEADERBOARDS.cadence == timedelta(minutes=45)
    settings.LAYERS_CADENCE_MINUTES = {"ads_content": 5}
    assert SCORED_CREATIVES.cadence == timedelta(minutes=5)


def test_stalest_projects_go_first(synced):
    projects = list(Project.objects.filter(is_gone=False).order_by("layers_id"))
    now = timezone.now()
    for age, project in zip((10, 30, 20, 40), projects, strict=False):
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
    ages = {p.layers_id: age for age, p in zip((10, 30, 20, 40), projects, strict=False)}
    assert [ages[pid] for pid in order] == sorted(ages.values(), reverse=True)


def test_the_command_reads_what_is_due_and_names_failed_projects(synced, capsys):
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
