"""Issue 15: a creative's figures per window (from boards and from its row), and the
creatives table that shows, sorts, filters and exports them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creatives.figures import creative_figures_from_rows
from creatives.models import CreativeFigures
from creatives.selectors import creative_cursor_parse, creative_page, creative_queryset
from creatives.services import BoardAnswer, leaderboard_store
from creatives.table import COLUMNS, SORTS, export_header
from creatives.vocabulary import FIGURE_NAMES, FIGURES
from tests.conftest import HX, html
from tests.factories import AdsContentFactory

pytestmark = pytest.mark.django_db


def item(ads_id, *, views=1000, er=0.05, watch=60000, spend=None, conversions=None, roas=None):
    paid = None
    if spend is not None:
        cpa = spend / conversions if conversions else None
        paid = {"spend": spend, "conversions": conversions, "roas": roas, "cpa": cpa}
    return {
        "rank": 1,
        "adsContentId": ads_id,
        "sourceType": "content_container",
        "metricValue": views,
        "organic": {"views": views, "engagementRate": er, "watchTimeMs": watch},
        "paid": paid,
    }


def store(project, metric, window, items, filters=None):
    answer = BoardAnswer(fields={"items": items, "raw": {}})
    return leaderboard_store(
        project=project, metric=metric, window=window, filters=filters or {}, answer=answer
    )


def test_the_model_has_a_column_per_figure_of_the_vocabulary():
    columns = {f.name for f in CreativeFigures._meta.get_fields()}
    assert set(FIGURE_NAMES) <= columns
    assert [c.key for c in COLUMNS if c.figure] == [f.name for f in FIGURES]


def test_a_stored_board_fills_figures_matched_on_id_key(project):
    creative = AdsContentFactory(project=project, layers_id="abc-123")
    other = AdsContentFactory(project=project)
    store(
        project,
        "roas",
        "30d",
        [item("adc_ABC-123", views=500, spend=412.0, conversions=88, roas=5.2)],
    )
    figures = CreativeFigures.objects.get(ads_content=creative, window="30d")
    assert (figures.views, figures.spend, figures.conversions, figures.roas) == (500, 412, 88, 5.2)
    assert figures.cpa == pytest.approx(412 / 88) and figures.source == "board"
    assert not CreativeFigures.objects.filter(ads_content=other).exists()
    assert not CreativeFigures.objects.filter(window="7d").exists()


def test_figures_written_meanwhile_by_another_writer_are_overwritten_not_a_crash(
    project, monkeypatch
):
    """A page storing a board on first view and the sync can both find a creative's window
    missing: the second insert must not fail on the unique (creative, window) (a 500 under
    load on PostgreSQL, tests/reliability/test_load.py)."""
    creative = AdsContentFactory(project=project, layers_id="race-1")
    CreativeFigures.objects.create(
        ads_content=creative, window="30d", views=1, source="board", as_of=timezone.now()
    )
    real_filter = CreativeFigures.objects.filter

    def read_before_the_other_commit(*args, **kwargs):
        return real_filter(*args, **kwargs).none()  # this writer's read saw nothing yet

    monkeypatch.setattr(CreativeFigures.objects, "filter", read_before_the_other_commit)
    store(project, "views", "30d", [item("race-1", views=777)])
    monkeypatch.undo()
    figures = CreativeFigures.objects.get(ads_content=creative, window="30d")
    assert figures.views == 777


def test_newest_board_wins_per_figure_and_a_null_erases_nothing(project):
    creative = AdsContentFactory(project=project)
    first, _ = store(
        project,
        "roas",
        "30d",
        [item(creative.layers_id, views=100, spend=50.0, conversions=5, roas=2.0)],
    )
    second, _ = store(project, "views", "30d", [item(creative.layers_id, views=900)])
    assert second.fetched_at >= first.fetched_at
    figures = CreativeFigures.objects.get(ads_content=creative, window="30d")
    assert figures.views == 900  # the newer board's
    assert figures.spend == 50.0 and figures.roas == 2.0  # its paid: null left the older ones
    assert figures.as_of == second.fetched_at
    # A newer answer of the older board: its figures win now.
    store(
        project,
        "roas",
        "30d",
        [item(creative.layers_id, views=950, spend=60.0, conversions=6, roas=3.0)],
    )
    figures.refresh_from_db()
    assert (figures.views, figures.spend, figures.roas) == (950, 60.0, 3.0)
    # Out of every current board: no figures for the window.
    store(project, "roas", "30d", [])
    store(project, "views", "30d", [])
    assert not CreativeFigures.objects.filter(ads_content=creative).exists()


def test_a_platform_filtered_board_feeds_no_figures(project):
    creative = AdsContentFactory(project=project)
    store(
        project,
        "views",
        "7d",
        [item(creative.layers_id, views=10)],
        filters={"platform": ["tiktok"]},
    )
    assert not CreativeFigures.objects.filter(ads_content=creative).exists()
    store(
        project,
        "views",
        "7d",
        [item(creative.layers_id, views=99)],
        filters={"sourceType": ["manual"]},
    )
    assert CreativeFigures.objects.get(ads_content=creative, window="7d").views == 99


def test_row_blocks_fill_the_row_window(project):
    with_blocks = AdsContentFactory(
        project=project,
        organic_performance={"views": 1234, "engagementRate": 0.04, "platforms": ["tiktok"]},
        ad_performance={"spend": 80.5, "conversions": 4, "roas": 2.5},
    )
    bare = AdsContentFactory(project=project, organic_performance=None, ad_performance=None)
    hostile = AdsContentFactory(
        project=project, organic_performance={"views": "1e999"}, ad_performance=[]
    )
    assert creative_figures_from_rows(project=project) == 1
    figures = CreativeFigures.objects.get(ads_content=with_blocks)
    assert figures.window == "row" and figures.source == "row"
    assert (figures.views, figures.spend, figures.roas, figures.cpa) == (1234, 80.5, 2.5, None)
    assert figures.as_of == with_blocks.scored_at
    assert not CreativeFigures.objects.filter(ads_content__in=[bare, hostile]).exists()
    assert creative_figures_from_rows(project=project) == 0  # nothing changed, nothing written
    with_blocks.ad_performance = None
    with_blocks.organic_performance = None
    with_blocks.save()
    assert creative_figures_from_rows(project=project) == 1  # deleted
    assert not CreativeFigures.objects.exists()


# --- the table ----------------------------------------------------------------------------------


@pytest.fixture
def table(project):
    """Six creatives: four on the 30d boards (two of them promoted), two on none."""
    rows = {
        "star": AdsContentFactory(project=project, title="Star", organic_score=6.0),
        "cheap": AdsContentFactory(project=project, title="Cheap", organic_score=5.0),
        "solid": AdsContentFactory(project=project, title="Solid", organic_score=7.0),
        "organic": AdsContentFactory(project=project, title="Organic", organic_score=8.0),
        "none1": AdsContentFactory(project=project, title="Nobody", organic_score=9.0),
        "none2": AdsContentFactory(project=project, title="", organic_score=4.5),
    }
    store(
        project,
        "views",
        "30d",
        [
            item(rows["star"].layers_id, views=5000, spend=200.0, conversions=20, roas=4.0),
            item(rows["cheap"].layers_id, views=300, spend=2.0, conversions=1, roas=50.0),
            item(rows["solid"].layers_id, views=800, spend=100.0, conversions=0, roas=0.0),
            item(rows["organic"].layers_id, views=9000),
        ],
    )
    return project, rows


def names(rows_by_key, queryset):
    by_pk = {v.pk: k for k, v in rows_by_key.items()}
    return [by_pk[r.pk] for r in queryset]


def test_every_column_sorts_both_ways_with_nulls_last(table):
    project, rows = table
    for name, sort in SORTS.items():
        got = list(creative_queryset(project=project, sort=name))
        values = [getattr(r, sort.sort_on) for r in got]
        present = [v for v in values if v is not None]
        assert values == present + [None] * (len(values) - len(present)), name
        assert present == sorted(present, reverse=sort.descending), name
    assert names(rows, creative_queryset(project=project, sort="views_desc"))[:4] == [
        "organic",
        "star",
        "solid",
        "cheap",
    ]
    assert names(rows, creative_queryset(project=project, sort="roas_asc"))[:3] == [
        "solid",
        "star",
        "cheap",
    ]
    assert names(rows, creative_queryset(project=project, sort="title_asc"))[-1] == "none2"


@pytest.mark.parametrize(
    "sort", ["views_desc", "roas_asc", "title_asc", "eligible_desc", "override_asc"]
)
def test_figure_sorts_page_without_gap_or_repeat(table, sort):
    project, rows = table
    expected = [r.pk for r in creative_queryset(project=project, sort=sort)]
    seen, cursor = [], None
    while True:
        page = creative_page(project=project, sort=sort, cursor=cursor, size=2)
        seen += [r.pk for r in page.items]
        if not page.next_cursor:
            break
        cursor = creative_cursor_parse(page.next_cursor, sort)
    assert seen == expected


def test_ratio_sorts_keep_noise_out_by_default_and_the_page_says_so(client, table):
    project, rows = table
    base = f"/projects/{project.layers_id}/creatives/"
    page = html(client.get(f"{base}?sort=roas_desc", **HX))
    assert "Star" in page and "Cheap" not in page  # spend 2 < 10
    assert "Solid" not in page  # no conversion
    assert "spend ≥ 10 and ≥ 1 conversion" in page
    full = html(client.get(f"{base}?sort=roas_desc"))
    assert 'placeholder="10"' in full and 'placeholder="1"' in full
    # Changeable: 0 turns a default off, and a value given is kept in the URL.
    page = html(client.get(f"{base}?sort=roas_desc&minSpend=0&minConversions=0", **HX))
    assert "Cheap" in page and "Solid" in page
    assert page.index("Cheap") < page.index("Star") < page.index("Nobody")  # no ROAS: last
    response = client.get(f"{base}?sort=roas_desc&minSpend=0&minConversions=0", **HX)
    assert response["HX-Push-Url"].endswith("?minSpend=0&minConversions=0&sort=roas_desc")
    # Sorting by views: no default minimum.
    page = html(client.get(f"{base}?sort=views_desc", **HX))
    assert "Cheap" in page and "spend ≥" not in page
    page = html(client.get(f"{base}?minSpend=100", **HX))
    assert "Star" in page and "Solid" in page and "Cheap" not in page and "Organic" not in page


def test_filters_carry_no_empty_parameter(client, table):
    project, _rows = table
    base = f"/projects/{project.layers_id}/creatives/"
    response = client.get(
        f"{base}?pool=&override=&minScore=&window=7d&minSpend=&sort=views_desc&watch="
    )
    assert (
        response.status_code == 302 and response["Location"] == f"{base}?window=7d&sort=views_desc"
    )
    response = client.get(f"{base}?pool=&window=30d&sort=score_desc", **HX)
    assert response.status_code == 200 and response["HX-Push-Url"] == base


def test_no_figure_says_not_in_the_top_n_with_the_full_text(client, table):
    project, _rows = table
    page = html(client.get(f"/projects/{project.layers_id}/creatives/"))
    assert page.count("not in the top 25</abbr>") == 2
    assert re.search(
        r'<abbr title="Not in the top 25 for this window: [^"]*by Views over 30 days', page
    )
    assert "5K" in page and "4.0×" in page and "200.00" in page  # views, ROAS, spend as given
    assert "documents no currency" in page
    week = html(client.get(f"/projects/{project.layers_id}/creatives/?window=7d"))
    assert "no board for this window" in week and "not in the top" not in week


def test_header_links_sort_and_mark_the_sort_in_use(client, table):
    project, _rows = table
    page = html(client.get(f"/projects/{project.layers_id}/creatives/?sort=views_desc"))
    header = re.search(r"<thead>.*?</thead>", page, re.S).group(0)
    assert header.count("<th ") == len(COLUMNS)
    assert 'aria-sort="descending"' in header and 'href="?sort=views_asc"' in header
    assert 'href="?sort=roas_desc"' in header and 'href="?sort=title_asc"' in header
    fragment = client.get(
        f"/projects/{project.layers_id}/creatives/?sort=roas_desc",
        HTTP_HX_TARGET="creative-listing",
        **HX,
    )
    assert html(fragment).lstrip().startswith('<div id="creative-listing">')


def test_csv_is_the_table_as_shown(client, table):
    project, rows = table
    query = "sort=views_desc&minScore=5"
    page = html(client.get(f"/projects/{project.layers_id}/creatives/?{query}"))
    shown = [int(pk) for pk in re.findall(r'<tr id="creative-(\d+)"', page)]
    header = re.search(r"<thead>.*?</thead>", page, re.S).group(0)
    response = client.get(f"/projects/{project.layers_id}/creatives/export.csv?{query}")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == export_header()
    by_id = {r.layers_id: r.pk for r in rows.values()}
    assert [by_id[line[0]] for line in lines[1:]] == shown
    labels = re.findall(r'class="sort-link"[^>]*>([^<]+)<', header)
    assert labels == [c.label for c in COLUMNS]
    star = next(line for line in lines[1:] if line[1] == "Star")
    assert star[export_header().index("views")] == "5000.0"
    assert star[export_header().index("spend")] == "200.0"
    nobody = next(line for line in lines[1:] if line[1] == "Nobody")
    assert nobody[export_header().index("views")] == ""


def test_queries_stay_flat_with_figures_as_rows_grow(client, project):
    def grow(n):
        made = [AdsContentFactory(project=project) for _ in range(n)]
        store(
            project,
            "roas",
            "30d",
            [
                item(r.layers_id, views=i, spend=20.0 + i, conversions=2, roas=1.0 + i)
                for i, r in enumerate(made)
            ],
        )

    urls = [
        f"/projects/{project.layers_id}/creatives/?sort=roas_desc",
        f"/projects/{project.layers_id}/creatives/?sort=views_asc&window=row",
        f"/projects/{project.layers_id}/creatives/export.csv?sort=cpa_desc",
    ]
    client.get("/healthz")

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
        return len(queries)

    grow(3)
    small = [count(url) for url in urls]
    grow(80)
    assert [count(url) for url in urls] == small


def test_figures_are_escaped_and_old_cursor_still_parses(client, project):
    AdsContentFactory(project=project, title="<script>alert(1)</script>")
    page = html(client.get(f"/projects/{project.layers_id}/creatives/?sort=title_asc"))
    assert "<script>alert(1)</script>" not in page.split("</head>")[-1]
    assert creative_cursor_parse(
        creative_page(project=project, sort="scored_at_desc", size=0).next_cursor
        or "eyJpIjoieCIsInMiOiJzY29yZWRfYXRfZGVzYyIsInYiOm51bGx9",
        "scored_at_desc",
    ) == (None, "x")
