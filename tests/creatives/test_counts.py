"""The project list's stored figures (projects/services/counts.py)."""

from __future__ import annotations

import pytest

from creatives.counts import project_counts_refresh
from projects.selectors import project_list
from tests.conftest import grant
from tests.factories import AdsContentFactory, ContentContainerFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_counts_and_top_creative_ignore_gone_rows_and_other_projects(manager):
    grant(manager, "view_all_projects")
    project = ProjectFactory()
    ContentContainerFactory.create_batch(3, project=project)
    ContentContainerFactory(project=project, is_gone=True)
    AdsContentFactory(project=project, organic_score=3.0)  # not eligible
    best = AdsContentFactory(project=project, organic_score=8.0, title="Winner")
    AdsContentFactory(project=project, organic_score=9.9, is_gone=True)
    AdsContentFactory(project=project, organic_score=9.5, override="exclude")
    AdsContentFactory(project=ProjectFactory(), organic_score=10.0)  # another project
    empty = ProjectFactory()
    for each in (project, empty):
        project_counts_refresh(project=each)
    row = project_list(user=manager).get(pk=project.pk)
    assert (row.content_count, row.scored_count, row.eligible_count) == (3, 3, 1)
    assert (row.top_creative_id, row.top_creative_title) == (best.layers_id, "Winner")
    assert (row.top_creative_score, row.top_creative_thumbnail) == (8.0, best.thumbnail_url)
    row = project_list(user=manager).get(pk=empty.pk)
    assert (row.content_count, row.scored_count, row.top_creative_id) == (0, 0, None)


def test_a_refresh_follows_rows_that_change_or_go():
    project = ProjectFactory()
    best = AdsContentFactory(project=project, organic_score=8.0, title="Winner")
    AdsContentFactory(project=project, organic_score=6.0, title="Runner-up")
    project_counts_refresh(project=project)
    assert (project.scored_count, project.top_creative_title) == (2, "Winner")
    best.is_gone = True
    best.save()
    project_counts_refresh(project=project)
    project.refresh_from_db()  # stored, not only set on the instance
    assert (project.scored_count, project.top_creative_title) == (1, "Runner-up")


def test_the_project_list_reads_one_row_per_project_whatever_the_rows(
    manager, django_assert_num_queries
):
    grant(manager, "view_all_projects")
    for _ in range(3):
        project = ProjectFactory()
        AdsContentFactory.create_batch(4, project=project, organic_score=5.0)
        project_counts_refresh(project=project)
    assert manager.has_perm("projects.view_all_projects")  # loads the permission cache
    with django_assert_num_queries(1):
        rows = list(project_list(user=manager))
    assert [row.scored_count for row in rows] == [4, 4, 4]
