"""The dashboard's formatting filters: metrics as people read them, trend lines, freshness."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from layersadmin import formatting as fmt
from layersadmin.templatetags import dashboard as d

NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (148200, "148.2K"),
        (1_250_000, "1.3M"),
        (999_950, "1M"),
        (950, "950"),
        (1000, "1K"),
        (999, "999"),
        (2_400_000_000, "2.4B"),
        (0, "0"),
        (None, "–"),
        ("abc", "–"),
        (float("nan"), "–"),
        (True, "–"),
    ],
)
def test_compact_numbers(value, expected):
    assert fmt.count_compact(value) == expected  # the filter adds the full number's <abbr>


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("roas", 5.2, "5.2×"),
        ("roas", 5.249, "5.2×"),
        ("engagement_rate", 0.061, "6.1 %"),
        ("views", 148200, "148.2K"),
        ("watch_time_ms", 245_000, "4 min 5 s"),
        ("watch_time_ms", 4_521_000, "1 h 15 min"),
        ("watch_time_ms", 272_203_079, "76 h"),
        ("watch_time_ms", 1_000 * 3600 * 1234, "1,234 h"),
        ("conversions", 1234, "1,234"),
        ("roas", None, "–"),
        ("unknown_metric", 12.0, "12"),
    ],
)
def test_metric_values_read_as_people_say_them(metric, value, expected):
    assert fmt.metric_text(value, metric) == expected


def test_amount_percent_score_and_integer():
    assert d.amount(412) == "412.00"  # as the API gives it: no currency is documented
    assert d.amount(2529.934) == "2,529.93"
    assert d.amount(-3) == "-3.00"
    assert d.percent(0.1097) == "11.0 %"
    assert d.score(4) == "4.0"
    assert d.integer("12") == "12"
    assert d.duration(-5) == "–"


@pytest.mark.parametrize("value", [1e27, 1e308, -1e300, 12345678901234567890.0])
def test_numbers_too_big_to_round_exactly_still_render(value):
    """An API that sends 1e308 must not turn a leaderboard into a 500 (quantize raised)."""
    for metric in ("roas", "views", "engagement_rate", "unknown_metric"):
        assert d.metric_value(value, metric)
    assert fmt.count_compact(value).endswith("B")
    assert d.compact(value).endswith("B</abbr>")
    assert d.percent(1e308) == "–"  # x100 overflows to inf: nothing sensible to show
    assert d.times(value).endswith("×")


def test_sparkline_points_scale_to_the_series():
    points = d.sparkline([1.0, 5.0, 3.0], "90x24").split()
    assert points == ["2.0,22.0", "45.0,2.0", "88.0,12.0"]
    assert d.sparkline([4.0], "90x24") == "2.0,12.0 88.0,12.0"  # one sample: a flat line
    assert d.sparkline([], "90x24") == ""
    assert d.sparkline(["x", None], "bad") == ""


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (dt.timedelta(seconds=30), "just now"),
        (dt.timedelta(minutes=12), "12 min ago"),
        (dt.timedelta(hours=3, minutes=5), "3 h ago"),
        (dt.timedelta(days=4), "4 days ago"),
        (dt.timedelta(minutes=-5), "just now"),
    ],
)
def test_ago(delta, expected):
    assert d.ago(NOW - delta, NOW) == expected
    assert d.ago(None) == "never"


def test_movement_glyphs():
    class Row:
        def __init__(self, movement, delta=0):
            self.movement, self.delta = movement, delta

    assert [d.movement(Row(*a)) for a in [("up", 2), ("down", 1), ("new",), ("same",), ("",)]] == [
        "▲2",
        "▼1",
        "new",
        "–",
        "–",
    ]
    assert d.movement_text(Row("up", 2)) == "up 2"


def test_form_tokens_are_fresh_and_url_safe():
    first, second = d.form_token(), d.form_token()
    assert first != second and len(first) >= 20
    assert first.replace("-", "").replace("_", "").isalnum()


def test_filters_render_through_the_template_engine():
    html = Template("{% load dashboard %}{{ v|metric_value:'roas' }} {{ w|compact }}").render(
        Context({"v": 5.2, "w": 148200})
    )
    assert html == '5.2× <abbr class="count" tabindex="0" title="148,200">148.2K</abbr>'


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "css", "text"),
    [
        ({"last_sync_ok_at_ago": dt.timedelta(minutes=12)}, "badge-ok", "synced 12 min ago"),
        ({"last_sync_ok_at_ago": dt.timedelta(hours=5)}, "badge-bad", "stale · synced 5 h ago"),
        (
            {"last_sync_ok_at_ago": dt.timedelta(minutes=5), "last_sync_error": "boom"},
            "badge-bad",
            "sync failed",
        ),
        ({"last_sync_ok_at_ago": None}, "badge-bad", "never synced"),
        (
            {"last_sync_ok_at_ago": dt.timedelta(days=9), "status": "archived"},
            "badge-muted",
            "synced 9 days ago",
        ),
    ],
)
def test_freshness_badge(fields, css, text, settings):
    from django.utils import timezone

    from tests.factories import ProjectFactory

    settings.LAYERS_STALE_AFTER_MINUTES = 90
    ago = fields.pop("last_sync_ok_at_ago")
    project = ProjectFactory(
        last_sync_ok_at=None if ago is None else timezone.now() - ago, **fields
    )
    html = Template("{% load project_tags %}{% freshness_badge project %}").render(
        Context({"project": project})
    )
    assert css in html and text in html
