"""The leaderboard tables and their CSV exports come from one column definition
(``creatives.table.PROJECT_BOARD_COLUMNS`` / ``AGENCY_BOARD_COLUMNS``): the header cells a page
shows are the definition's, in its order, and the CSV carries each column's exports, the
metric change against the baseline included. The project overview names people as the
creatives table does.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from html import unescape

import pytest
from django.utils import timezone

from creatives.models import OverrideAudit
from creatives.table import (
    AGENCY_BOARD_COLUMNS,
    PROJECT_BOARD_COLUMNS,
    board_export_header,
)
from layersadmin.formatting import metric_text
from tests.conftest import html
from tests.factories import AdsContentFactory, LeaderboardSnapshotFactory, UserFactory

pytestmark = pytest.mark.django_db


def item(rank, ads_id, value):
    return {
        "rank": rank,
        "adsContentId": ads_id,
        "sourceType": "content_container",
        "title": f"Creative {ads_id}",
        "metricValue": value,
        "organic": {"views": value, "engagementRate": 0.05, "watchTimeMs": 61000},
        "paid": {"spend": 12.5, "conversions": 3, "roas": 2.5, "cpa": 4.17},
    }


@pytest.fixture
def boards(project):
    now = timezone.now()
    LeaderboardSnapshotFactory(
        project=project,
        fetched_at=now - dt.timedelta(hours=2),
        items=[item(1, "a", 900), item(2, "b", 800)],
    )
    LeaderboardSnapshotFactory(
        project=project, fetched_at=now, items=[item(1, "b", 1250), item(2, "a", 1000)]
    )


def header_cells(page: str, caption_start: str) -> list[str]:
    table = re.search(r"<table class=\"data leaderboard\"[^>]*>.*?</table>", page, re.S)[0]
    assert caption_start in table
    head = re.search(r"<thead>(.*?)</thead>", table, re.S)[1]
    cells = re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells]


def body_cell_counts(page: str) -> set[int]:
    body = re.search(r"<tbody>(.*?)</tbody>", page, re.S)[1]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    return {len(re.findall(r"<td[\s>]", row)) for row in rows}


def assert_headers_follow(cells: list[str], columns, metric_label: str) -> None:
    assert len(cells) == len(columns), (cells, [c.key for c in columns])
    for cell, column in zip(cells, columns, strict=True):
        assert cell.startswith(column.label or metric_label), (cell, column.key)


def test_the_project_board_shows_the_columns_its_csv_exports(client, project, boards):
    page = html(client.get(f"/projects/{project.layers_id}/leaderboard/"))
    assert_headers_follow(header_cells(page, "Top creatives by"), PROJECT_BOARD_COLUMNS, "Views")
    assert body_cell_counts(page) == {len(PROJECT_BOARD_COLUMNS)}


def test_the_project_board_csv_has_the_metric_change(client, project, boards):
    response = client.get(f"/projects/{project.layers_id}/leaderboard/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == board_export_header(PROJECT_BOARD_COLUMNS)
    assert {"movement", "metricChange", "watchTimeMs"} <= set(rows[0])
    by_id = {row["adsContentId"]: row for row in rows}
    # b rose from #2 (800) to #1 (1250); a fell from #1 (900) to #2 (1000): as the page shows.
    assert (by_id["b"]["movement"], float(by_id["b"]["metricChange"])) == ("up 1", 450.0)
    assert (by_id["a"]["movement"], float(by_id["a"]["metricChange"])) == ("down 1", 100.0)
    assert by_id["b"]["shown"] == metric_text(1250, "views")  # as the table shows it
    assert float(by_id["b"]["watchTimeMs"]) == 61000
    page = html(client.get(f"/projects/{project.layers_id}/leaderboard/"))
    assert "+450" in page and "+100" in page  # the same change, in the table


def test_no_baseline_means_an_empty_metric_change(client, project):
    LeaderboardSnapshotFactory(project=project, items=[item(1, "a", 5)])
    response = client.get(f"/projects/{project.layers_id}/leaderboard/export.csv")
    row = next(csv.DictReader(io.StringIO(response.content.decode())))
    assert (row["movement"], row["metricChange"]) == ("", "")


def test_the_agency_board_shows_the_columns_its_csv_exports(client, project, boards):
    page = html(client.get("/leaderboard/"))
    cells = header_cells(page, "Top creatives across projects")
    assert_headers_follow(cells, AGENCY_BOARD_COLUMNS, "Views")
    assert body_cell_counts(page) == {len(AGENCY_BOARD_COLUMNS)}
    response = client.get("/leaderboard/export.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert list(rows[0]) == board_export_header(AGENCY_BOARD_COLUMNS)
    assert [(r["adsContentId"], r["project"], r["projectRank"]) for r in rows] == [
        ("b", "Bluebird Fitness", "1"),
        ("a", "Bluebird Fitness", "2"),
    ]
    assert rows[0]["asOf"]  # the board's age the table shows


# --- the project overview's "Recent overrides" ---------------------------------------------------


def test_recent_overrides_name_the_person(client, project, manager):
    named = UserFactory(username="jdoe", first_name="Jane", last_name="Doe")
    plain = UserFactory(username="plainuser")
    gone = UserFactory(username="gone")
    for user, title in ((named, "First"), (plain, "Second"), (gone, "Third")):
        OverrideAudit.objects.create(
            user=user,
            project=project,
            ads_content=AdsContentFactory(project=project, title=title),
            after_override="include",
            idempotency_key=f"k-{title}",
            outcome="succeeded",
        )
    gone.delete()  # the audit stays, without its person
    page = html(client.get(f"/projects/{project.layers_id}/"))
    section = re.search(r"<h2>Recent overrides</h2>(.*?)</section>", page, re.S)[1]
    names = re.findall(r"<strong>(.*?)</strong>", section)
    assert names == ["(deleted user)", "plainuser", "Jane Doe"]  # newest first
    assert "jdoe" not in section
