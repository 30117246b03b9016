"""Leaderboards on demand against both sandbox dialects, over real HTTP.

The dialects disagree on which source mixes a paid metric needs (sandbox/README.md, "paid
metric and organic-only source mix"): ``seed`` declines only platform posts alone, ``variant``
declines everything but an explicit paid mix (content_container and/or manual). The pages
must fetch any board on first view, store a refusal as declined, explain it in the API's
words and learn the mixes from the answers, whichever dialect answers.
"""

from __future__ import annotations

import pytest

from creatives.models import LeaderboardDemand, LeaderboardSnapshot
from layersadmin.layers import LayersClient
from projects.models import Project
from sandbox.dialects import DIALECTS
from sync.services import layers_sync
from tests.conftest import HX, html, make_client

pytestmark = pytest.mark.django_db

# The mix each dialect declines for a paid metric, and one it ranks.
DECLINED = {"seed": "sourceType=platform_post", "variant": ""}
ANSWERED = "sourceType=content_container&sourceType=manual"


@pytest.fixture(params=DIALECTS)
def api(request, sandbox_factory, settings):
    server = sandbox_factory(dialect=request.param, projects=3, creatives_per_project=40)
    settings.LAYERS_API_BASE_URL = server.base_url
    settings.LAYERS_API_KEY = server.keys["main"]
    settings.LAYERS_API_MAX_ATTEMPTS = 3
    settings.LAYERS_API_BACKOFF_BASE = 0.01
    settings.LAYERS_API_TIER = "unlimited"
    server.dialect_name = request.param
    assert layers_sync(client=make_client(server)).ok
    return server


@pytest.fixture
def calls(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = LayersClient.request

    def spy(self, method, path, **kwargs):
        seen.append(path)
        return original(self, method, path, **kwargs)

    monkeypatch.setattr(LayersClient, "request", spy)
    return seen


@pytest.fixture
def project(api, manager):
    project = Project.objects.filter(status="active").order_by("layers_id").first()
    project.account_managers.add(manager)
    return project


def test_a_declined_mix_is_stored_explained_and_learned(api, project, client, calls):
    base = f"/projects/{project.layers_id}/leaderboard/?metric=roas&window=7d"
    declined = html(client.get(f"{base}&{DECLINED[api.dialect_name]}", **HX))
    assert "Not available for this mix" in declined and "requires paid data" in declined
    assert "code VALIDATION" in declined and len(calls) == 1
    snapshot = LeaderboardSnapshot.objects.get(project=project, metric="roas", window="7d")
    assert snapshot.declined and "requires paid data" in snapshot.declined_message

    answered = html(client.get(f"{base}&{ANSWERED}", **HX))
    assert answered.count('class="num rank"') > 0 and len(calls) == 2

    calls.clear()
    again = html(client.get(f"{base}&{DECLINED[api.dialect_name]}", **HX))
    assert calls == []  # stored: no call
    ranks = "all sources; " if api.dialect_name == "seed" else ""  # the sync's roas:30d
    assert f"it ranks with {ranks}Generated + Manual uploads" in again
    mix = "UGC posts" if api.dialect_name == "seed" else "all sources"
    assert f"it declined {mix}." in again


def test_the_agency_board_of_any_metric_and_window_shows_without_a_click(
    api, manager, client, calls
):
    active = list(Project.objects.filter(status="active"))
    for project in active:
        project.account_managers.add(manager)
    page = html(client.get("/leaderboard/?metric=conversions&window=90d", **HX))
    if api.dialect_name == "variant":
        # A paid metric for every source is declined by mix: one answer explains the board.
        assert "Not available" in page and "requires paid data" in page and len(calls) == 1
    else:
        assert page.count('class="num rank"') > 0 and len(calls) == len(active)
    assert LeaderboardDemand.objects.filter(metric="conversions", window="90d").count() == len(
        active
    )
    calls.clear()
    client.get("/leaderboard/?metric=conversions&window=90d", **HX)
    assert calls == []
