"""After a real sync (sandbox, both dialects), the creatives table shows the figures of the
configured boards' metric: issue 15's decision table, end to end over HTTP."""

from __future__ import annotations

import re

import pytest

from creatives.models import AdsContent, CreativeFigures, LeaderboardSnapshot
from creatives.selectors import leaderboard_rows
from creatives.services import leaderboard_configured
from layersadmin.layers.ids import id_key
from sandbox.dialects import DIALECTS
from tests.conftest import grant, html

pytestmark = pytest.mark.django_db


@pytest.fixture(params=DIALECTS)
def sandbox_server(request, sandbox_factory):
    """The ``synced`` fixture's sandbox, in each dialect."""
    return sandbox_factory(dialect=request.param)


def test_after_a_sync_the_table_shows_the_boards_figures(synced, client, manager):
    grant(manager, "view_all_projects")
    metric, window = leaderboard_configured()[0]  # views:30d by default
    snapshot = (
        LeaderboardSnapshot.objects.filter(metric=metric, window=window, declined=False)
        .exclude(items=[])
        .order_by("-fetched_at")
        .first()
    )
    assert snapshot is not None
    project = snapshot.project
    top = leaderboard_rows(snapshot.items)[0]
    creative = AdsContent.objects.get(project=project, key=id_key(top.ads_content_id))
    figures = CreativeFigures.objects.get(ads_content=creative, window=window)
    assert figures.source == "board" and figures.views == top.organic["views"]

    page = html(client.get(f"/projects/{project.layers_id}/creatives/?sort=views_desc"))
    rows = re.findall(r'<tr id="creative-(\d+)".*?</tr>', page, re.S)
    assert rows[0] == str(creative.pk)  # the board's leader leads the table sorted by views
    first_row = re.search(rf'<tr id="creative-{creative.pk}".*?</tr>', page, re.S).group(0)
    assert 'class="num figure"' in first_row and "not in the top" not in first_row
    if AdsContent.objects.filter(project=project, is_gone=False).count() > len(snapshot.items):
        assert "not in the top 25" in page  # the rest say why they have no figure

    # The row's own blocks: kept under their own window, never as one of the API's.
    assert CreativeFigures.objects.filter(ads_content__project=project, window="row").exists()
