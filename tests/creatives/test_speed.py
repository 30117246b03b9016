"""Issue 16's query fixes, protected: the creatives table reads its unfiltered figures (pools,
trend scale, watchlists, total) in one grouped query, and they agree with counting each."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Max, Min
from django.test.utils import CaptureQueriesContext

from creatives.models import AdsContent
from creatives.selectors import creative_page, creative_summary
from projects.models import Project
from tests.conftest import grant
from tests.factories import AdsContentFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def populate(project) -> None:
    for index in range(12):
        AdsContentFactory(
            project=project,
            organic_score=index % 8,
            scoring_pool=["generated", "manual", ""][index % 3],
            override=["", "include", "exclude"][index % 3],
        )
    AdsContentFactory(project=project, organic_score=99, scoring_pool="gone", is_gone=True)
    AdsContentFactory(organic_score=-5, scoring_pool="elsewhere")  # another project


def test_the_summary_agrees_with_counting_each_figure():
    project = ProjectFactory()
    populate(project)
    visible = AdsContent.objects.filter(project=project, is_gone=False)
    summary = creative_summary(project=Project.objects.get(pk=project.pk))
    assert summary.total == visible.count() == 12
    assert summary.pools == ["generated", "manual"]
    found = visible.aggregate(low=Min("organic_score"), high=Max("organic_score"))
    assert summary.scale == (found["low"], found["high"]) == (0.0, 7.0)
    assert summary.included_low == visible.filter(override="include", organic_score__lt=4).count()
    assert summary.excluded_high == (
        visible.filter(override="exclude", organic_score__gte=4).count()
    )
    assert creative_summary(project=ProjectFactory()).scale is None  # no creatives yet


def test_a_filtered_page_counts_its_own_rows():
    project = ProjectFactory()
    populate(project)
    assert creative_page(project=project, window="30d").total == 12
    assert creative_page(project=project, pool="manual").total == 4
    assert creative_page(project=project, eligible=False).total == (
        AdsContent.objects.filter(project=project, is_gone=False, is_eligible=False).count()
    )
    assert creative_page(project=project, min_spend=0.0).total == 0  # no figures stored


def test_the_creatives_page_reads_the_project_s_creatives_once_for_its_figures(client, manager):
    project = ProjectFactory()
    project.account_managers.add(manager)
    grant(manager, "change_override")
    populate(project)
    url = f"/projects/{project.layers_id}/creatives/"
    client.get("/healthz")
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    aggregates = [
        q["sql"]
        for q in queries.captured_queries
        if "creatives_adscontent" in q["sql"]
        and any(word in q["sql"] for word in ("COUNT(", "MIN(", "DISTINCT"))
        and 'FROM "creatives_adscontent"' in q["sql"]
    ]
    assert len(aggregates) == 1, aggregates  # the summary: no COUNT, DISTINCT, MIN/MAX apart
    assert "GROUP BY" in aggregates[0]
