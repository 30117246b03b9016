"""Issue 15, parts 3 and 4: safer overrides (exclude confirmed first, archived projects locked,
clear only of a set override, "by" names the person) and movement and history (the score chart
on scoring times, leaderboard change against a chosen baseline, one sparkline scale per table).

The refusals here happen before anything is sent, so these tests need no sandbox: a client
that fails the test if it is ever called proves nothing went to the API.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import timezone

from creatives.models import AdsContent, OverrideAudit
from creatives.selectors import creative_page, leaderboard_get
from creatives.services import NothingToClear, ProjectArchived, creative_override_set
from creatives.vocabulary import ARCHIVED_SHORT, EXCLUDE_RUNNING_ADS, NOTHING_TO_CLEAR
from layersadmin.templatetags.dashboard import score_chart, sparkline
from tests.conftest import HX, grant, html
from tests.factories import (
    AdsContentFactory,
    LeaderboardSnapshotFactory,
    ScoreSampleFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


class NeverCalled:
    """A Layers client that must not be used: any call fails the test."""

    def __getattr__(self, name):
        raise AssertionError(f"the API was called ({name}) though nothing should be sent")


@pytest.fixture
def editor(manager):
    grant(manager, "change_override")
    return manager


def override_url(row) -> str:
    return f"/projects/{row.project.layers_id}/creatives/{row.layers_id}/override/"


def post(client, row, override, headers=HX, **extra):
    data = {"override": override, "form_token": "tok-1", **extra}
    return client.post(override_url(row), data, **headers)


# --- 1. exclude asks first ----------------------------------------------------------------------


def test_an_unconfirmed_exclude_asks_first_with_htmx_and_keeps_the_note(client, editor, project):
    row = AdsContentFactory(project=project, organic_score=7.0)
    response = post(client, row, "exclude", note="Legal <flagged> it")
    page = html(response)
    assert response.status_code == 200
    # The row comes back asking: static/js/decide.js opens the page's one override dialog
    # (the exclude question) for it, with the note kept, escaped.
    tr = re.search(r"<tr [^>]*>", page).group(0)
    assert tr.startswith(f'<tr id="creative-{row.pk}"')
    assert 'data-ask="exclude"' in tr and 'data-note="Legal &lt;flagged&gt; it"' in tr
    assert 'data-override="exclude"' in page  # the button the dialog opens for
    assert not OverrideAudit.objects.exists()
    row.refresh_from_db()
    assert row.override == ""


def test_an_unconfirmed_exclude_without_javascript_is_a_confirmation_page(client, editor, project):
    row = AdsContentFactory(project=project, title="Beach <b>day</b>")
    back = f"/projects/{project.layers_id}/creatives/?minScore=1"
    response = post(client, row, "exclude", headers={}, note="music", next=back)
    page = html(response)
    assert response.status_code == 200 and "<html" in page
    assert "Exclude this creative from ads?" in page
    assert "keep running until you pause them in the platform&#x27;s ad manager" in page
    assert "Beach &lt;b&gt;day&lt;/b&gt;" in page and "<b>day</b>" not in page
    assert '<input type="hidden" name="confirmed" value="exclude">' in page
    assert '<input type="hidden" name="form_token" value="tok-1">' in page
    assert ">music</textarea>" in page
    assert f'href="{back}"'.replace("&", "&amp;") in page  # Cancel goes back, sends nothing
    assert not OverrideAudit.objects.exists()


def test_the_exclude_button_opens_the_pages_one_dialog(client, editor, project):
    row = AdsContentFactory(project=project, active_promotions=[{"platform": "meta_ads"}])
    page = html(client.get(f"/projects/{project.layers_id}/creatives/"))
    # The row carries buttons of the page's one form, no form or dialog of its own.
    tr = re.search(rf'<tr id="creative-{row.pk}".*?</tr>', page, re.S).group(0)
    assert "<form" not in tr and "<dialog" not in tr and "<textarea" not in tr
    exclude = re.search(r'<button form="ov" name="exclude"[^>]*>', tr).group(0)
    assert f'value="{row.pk}"' in exclude and 'data-override="exclude"' in exclude
    assert 'data-running="Meta ads"' in exclude  # the dialog says which ads keep running
    # One dialog for the page, asking the exclude question; decide.js fills it in.
    assert page.count('<dialog id="override-dialog"') == 1
    dialog = re.search(r'<dialog id="override-dialog".*?</dialog>', page, re.S).group(0)
    assert EXCLUDE_RUNNING_ADS.replace("'", "&#x27;") in dialog
    assert 'name="confirmed" value=""' in dialog  # set only for a confirmed exclusion
    assert "<script" not in page.split("<main", 1)[1] and "onclick" not in page  # the CSP


def test_a_confirmed_exclude_is_sent(client, editor, project, monkeypatch):
    row = AdsContentFactory(project=project)
    sent = {}

    def fake(**kwargs):
        sent.update(kwargs)
        AdsContent.objects.filter(pk=row.pk).update(override="exclude")
        return SimpleNamespace(
            ads_content=AdsContent.objects.get(pk=row.pk),
            replayed=False,
            audit=SimpleNamespace(request_id="req_1"),
        )

    monkeypatch.setattr("creatives.views.creative_override_set", fake)
    response = post(client, row, "exclude", note="kept", confirmed="exclude")
    assert response.status_code == 200 and "Excluded" in html(response)
    assert (sent["override"], sent["note"]) == ("exclude", "kept")


# --- 2. archived projects -----------------------------------------------------------------------


@pytest.fixture
def archived(project):
    project.status = "archived"
    project.save(update_fields=["status"])
    return project


def test_an_archived_project_shows_no_override_buttons_and_says_why(client, editor, archived):
    row = AdsContentFactory(project=archived, override="include")
    table = html(client.get(f"/projects/{archived.layers_id}/creatives/"))
    detail = html(client.get(row.get_absolute_url()))
    for page in (table, detail):
        assert 'class="override-form"' not in page and "data-confirm-dialog" not in page
        assert 'id="override-dialog"' not in page
        assert '<button type="submit" id="include-' not in page and "data-confirm=" not in page
        assert "data-override" not in page and 'id="bulk-form"' not in page  # no bulk bar
    assert ARCHIVED_SHORT in table
    assert "This project is archived, so its overrides cannot be changed." in detail


def test_the_server_refuses_an_override_of_an_archived_project(client, editor, archived):
    row = AdsContentFactory(project=archived)
    for headers in (HX, {}):
        response = post(client, row, "include", headers=headers, note="x")
        if headers:
            assert response.status_code == 409
            assert "this project is archived" in html(response)
            assert 'role="alert"' in html(response) and "code " not in html(response)
        else:
            assert response.status_code == 302
            assert "this project is archived" in html(client.get(response["Location"]))
    # Exclude is refused too, never asked about first.
    response = post(client, row, "exclude", confirmed="")
    assert response.status_code == 409 and "<dialog" not in html(response)
    assert not OverrideAudit.objects.exists()
    row.refresh_from_db()
    assert row.override == ""


def test_the_service_refuses_an_archived_project_before_sending(archived):
    row = AdsContentFactory(project=archived)
    with pytest.raises(ProjectArchived):
        creative_override_set(
            ads_content=row, user=UserFactory(), override="include", client=NeverCalled()
        )
    assert not OverrideAudit.objects.exists()


# --- 3. clear only what is set ------------------------------------------------------------------


def test_clear_is_offered_only_when_an_override_is_set(client, editor, project):
    plain = AdsContentFactory(project=project, override="")
    pinned = AdsContentFactory(project=project, override="include")
    page = html(client.get(f"/projects/{project.layers_id}/creatives/"))
    assert f'name="clear" value="{plain.pk}"' not in page
    assert f'name="clear" value="{pinned.pk}"' in page


def test_a_clear_of_nothing_is_refused_with_no_audit(client, editor, project):
    row = AdsContentFactory(project=project, override="")
    response = post(client, row, "clear")
    assert response.status_code == 409 and NOTHING_TO_CLEAR in html(response)
    with pytest.raises(NothingToClear):
        creative_override_set(ads_content=row, user=editor, override="", client=NeverCalled())
    assert not OverrideAudit.objects.exists()  # no "none -> none" entry


# --- 4. "by" names the person -------------------------------------------------------------------


def test_by_names_the_person_and_the_key_is_secondary(client, editor, project):
    key = "lp_live_HHMRNJ2AHYJ6WZJ4 (api_key_id)"
    row = AdsContentFactory(project=project, override="exclude", override_set_by=key)
    person = UserFactory(username="jo", first_name="Jo", last_name="Park")
    OverrideAudit.objects.create(
        user=person,
        project=project,
        ads_content=row,
        after_override="exclude",
        outcome=OverrideAudit.Outcome.SUCCEEDED,
        response_set_by=key,
        idempotency_key="k1",
    )
    other = AdsContentFactory(project=project, override="include", override_set_by=key)
    table = html(client.get(f"/projects/{project.layers_id}/creatives/"))
    assert "by Jo Park via layersadmin" in table
    assert re.search(r'<span class="mono key"[^>]*>· key lp_live_HHMRNJ2AHYJ6WZJ4', table)
    detail = html(client.get(row.get_absolute_url()))
    assert "by Jo Park via layersadmin" in detail
    # Set elsewhere: the key is all we know, and the page says it is a key.
    other_cell = html(client.get(other.get_absolute_url()))
    assert "by API key" in other_cell and "by Jo Park" not in other_cell


# --- 5. the score chart -------------------------------------------------------------------------


def test_the_chart_plots_on_scored_at_and_falls_back_to_observed_at():
    base = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)
    samples = [
        # Observed together by one sync, scored days apart: the axis spans the scoring.
        SimpleNamespace(score=3.0, scored_at=base, observed_at=base + dt.timedelta(days=6)),
        SimpleNamespace(
            score=5.0,
            scored_at=base + dt.timedelta(days=2),
            observed_at=base + dt.timedelta(days=6),
        ),
        SimpleNamespace(score=6.0, scored_at=None, observed_at=base + dt.timedelta(days=6)),
    ]
    chart = score_chart(samples)
    assert chart["first"] == base and chart["last"] == base + dt.timedelta(days=6)
    xs = [x for x, _y in chart["dots"]]
    assert xs[0] == chart["left"] and xs[-1] == chart["right_x"]
    assert round((xs[1] - xs[0]) / (xs[2] - xs[0]), 2) == round(2 / 6, 2)
    texts = [label["text"] for label in chart["labels"]]
    assert texts[0] == "1 Apr" and texts[-1] == "7 Apr" and len(set(texts)) == len(texts)


def test_chart_labels_are_times_within_one_day():
    base = dt.datetime(2026, 4, 1, 8, tzinfo=dt.UTC)
    samples = [
        SimpleNamespace(score=4.0 + i, scored_at=base + dt.timedelta(hours=2 * i), observed_at=base)
        for i in range(4)
    ]
    texts = [label["text"] for label in score_chart(samples)["labels"]]
    assert texts[0] == "1 Apr 2026, 08:00" and texts[-1] == "14:00"
    assert len(set(texts)) == len(texts)


def test_the_detail_page_chart_uses_the_scoring_times(client, project):
    row = AdsContentFactory(project=project)
    ScoreSampleFactory(
        ads_content=row, score=3, scored_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    )
    ScoreSampleFactory(
        ads_content=row, score=6, scored_at=dt.datetime(2026, 3, 9, 12, tzinfo=dt.UTC)
    )
    page = html(client.get(row.get_absolute_url()))
    assert "axis-label" in page and ">1 Mar<" in page and ">9 Mar<" in page


# --- 6. leaderboard baseline, shared sparkline scale ----------------------------------------------


def item(rank, ads_id, value):
    return {"rank": rank, "adsContentId": ads_id, "sourceType": "manual", "metricValue": value}


@pytest.fixture
def boards(project):
    now = timezone.now()

    def snap(hours, items):
        return LeaderboardSnapshotFactory(
            project=project, fetched_at=now - dt.timedelta(hours=hours), items=items
        )

    return {
        "8d": snap(24 * 8, [item(1, "c", 10), item(2, "a", 5), item(3, "b", 1)]),
        "30h": snap(30, [item(1, "a", 50), item(2, "c", 40), item(3, "b", 30)]),
        "1h": snap(1, [item(1, "b", 90), item(2, "a", 80), item(3, "c", 70)]),
        "now": snap(0, [item(1, "a", 100), item(2, "b", 95), item(3, "c", 20)]),
        "now_time": now,
    }


@pytest.mark.parametrize(
    ("baseline", "against", "moves", "changes"),
    [
        ("previous", "1h", [("a", "up", 1), ("b", "down", 1), ("c", "same", 0)], [20, 5, -50]),
        ("24h", "30h", [("a", "same", 0), ("b", "up", 1), ("c", "down", 1)], [50, 65, -20]),
        ("7d", "8d", [("a", "up", 1), ("b", "up", 1), ("c", "down", 2)], [95, 94, 10]),
    ],
)
def test_movement_against_the_chosen_baseline(boards, project, baseline, against, moves, changes):
    board = leaderboard_get(
        project=project, metric="views", window="30d", baseline=baseline, now=boards["now_time"]
    )
    assert board.snapshot == boards["now"] and board.previous == boards[against]
    assert [(r.ads_content_id, r.movement, r.delta) for r in board.rows] == moves
    assert [r.metric_change for r in board.rows] == changes


def test_no_snapshot_old_enough_means_no_movement(project):
    LeaderboardSnapshotFactory(project=project, items=[item(1, "a", 1)])
    LeaderboardSnapshotFactory(
        project=project,
        fetched_at=timezone.now() - dt.timedelta(hours=3),
        items=[item(1, "a", 1)],
    )
    board = leaderboard_get(project=project, metric="views", window="30d", baseline="24h")
    assert board.previous is None and board.rows[0].movement == ""


def test_the_leaderboard_page_has_the_baseline_control(client, project, boards):
    url = f"/projects/{project.layers_id}/leaderboard/"
    page = html(client.get(url, {"baseline": "24h"}))
    assert '<option value="24h" selected>24 hours ago</option>' in page
    assert "change against 24 hours ago" in page
    assert '<input type="hidden" name="baseline" value="24h">' in page  # refresh keeps it
    assert 'class="move-metric"' in page and "+50" in page
    fragment = html(client.get(url, {"baseline": "7d"}, **HX))
    assert "change against 7 days ago" in fragment and "+95" in fragment
    export = client.get(f"/projects/{project.layers_id}/leaderboard/export.csv?baseline=7d")
    assert "down 2" in export.content.decode()
    bad = html(client.get(url, {"baseline": "yesterday"}))
    assert "change against previous snapshot" in bad  # a bad value is ignored, and said so


def test_sparklines_share_one_scale_within_a_table(project):
    flat = AdsContentFactory(project=project, organic_score=2.0)
    steep = AdsContentFactory(project=project, organic_score=8.0)
    for score in (1.0, 2.0):
        ScoreSampleFactory(ads_content=flat, score=score)
    for score in (6.0, 8.0):
        ScoreSampleFactory(ads_content=steep, score=score)
    rows = {r.pk: r for r in creative_page(project=project).items}
    assert rows[flat.pk].trend.scale == rows[steep.pk].trend.scale == (2.0, 8.0)
    ys = {
        pk: [float(pt.split(",")[1]) for pt in sparkline(r.trend).split()] for pk, r in rows.items()
    }
    # On one scale, the high creative is drawn above the low one (its own range would make
    # both lines go from bottom to top).
    assert max(ys[steep.pk]) < min(ys[flat.pk])
    out = Template("{% load dashboard %}{{ t|sparkline }}").render(Context({"t": [1, 2]}))
    assert out == "2.0,22.0 88.0,2.0"  # a plain list keeps its own range
