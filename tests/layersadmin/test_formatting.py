"""layersadmin.formatting: one style for counts, durations, amounts, percentages and labels,
and nothing the API can send makes it raise."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template

from layersadmin import formatting as f

# Values an API (or a hostile one) may send where a number is expected.
JUNK = [None, "", "  ", "abc", "nan", "NaN", "inf", "-Infinity", float("nan"), float("inf"),
        float("-inf"), True, False, [], {}, object(), Decimal("NaN"), 10**400, "1,5"]  # fmt: skip


@pytest.mark.parametrize("value", JUNK)
def test_junk_reads_as_missing_everywhere(value):
    for format_ in (f.count, f.count_compact, f.duration_ms, f.amount, f.percent, f.times,
                    f.score, f.decimal):  # fmt: skip
        assert format_(value) == "–", (format_.__name__, value)
    assert f.metric_text(value, "views") == "–"
    assert f.metric_change_text(value, "roas") == "–"
    assert not f.is_compacted(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, "0"), (7, "7"), (971_119, "971,119"), (-1234, "-1,234"), ("1234", "1,234"),
     (12.5, "13"), (Decimal("2.5"), "3"), (1e21, "1,000,000,000,000,000,000,000")],
)  # fmt: skip
def test_counts_in_full(value, expected):
    assert f.count(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (950, "950"),
        (999, "999"),
        (999.6, "1K"),  # rounds to 1,000: compacted, never "1,000"
        (1000, "1K"),
        (148_200, "148.2K"),
        (971_119, "971.1K"),  # the issue: it read "1M"
        (999_949, "999.9K"),
        (999_950, "1M"),  # never "1000K"
        (1_250_000, "1.3M"),
        (2_400_000_000, "2.4B"),
        (-971_119, "-971.1K"),
        (" 5000 ", "5K"),
    ],
)
def test_compact_counts(value, expected):
    assert f.count_compact(value) == expected


def test_huge_counts_still_render():
    assert f.count_compact(1e308).endswith("B") and f.count_compact(-1e308).startswith("-")


def test_is_compacted_only_when_digits_are_dropped():
    assert not f.is_compacted(999)
    assert f.is_compacted(1000)  # "1K" == 1,000 exactly, but the reader cannot know that
    assert f.is_compacted(971_119)


@pytest.mark.parametrize(
    ("ms", "expected"),
    [
        (0, "0 s"),
        (400, "0 s"),
        (500, "1 s"),  # half up
        (53_000, "53 s"),
        (59_600, "1 min"),  # rounds up into the next unit, never "60 s"
        (60_000, "1 min"),
        (245_000, "4 min 5 s"),
        (252_000, "4 min 12 s"),
        (3_599_400, "59 min 59 s"),
        (3_600_000, "1 h"),
        (4_521_000, "1 h 15 min"),
        (35_970_000, "10 h"),  # 9 h 59 min 30 s rounds to 600 min: whole hours from 10 h
        (192_253_000, "53 h"),  # the 53:24:13, now in the same style as...
        (8_611_200_000, "2,392 h"),  # ...2,392 h
        ("4521000", "1 h 15 min"),
        (-5, "–"),
        (1e300, f"{f.count_compact(1e300 / 3.6e6)} h"),
    ],
)
def test_durations_one_style(ms, expected):
    assert f.duration_ms(ms) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(412, "412.00"), (2529.934, "2,529.93"), (4.685, "4.69"), (-3, "-3.00"), (0, "0.00"),
     ("12.5", "12.50"), (1e20, "100,000,000,000,000,000,000")],
)  # fmt: skip
def test_amounts_as_given_without_a_currency(value, expected):
    assert f.amount(value) == expected
    assert "$" not in f.amount(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.061, "6.1 %"), (0.1097, "11.0 %"), (0.00125, "0.1 %"), (0, "0.0 %"), (1, "100.0 %"),
     (-0.005, "-0.5 %"), (12.5, "1,250.0 %"), (1e308, "–")],
)  # fmt: skip
def test_percentages_one_decimal(value, expected):
    assert f.percent(value) == expected


def test_ratios_scores_and_plain_decimals():
    assert f.times(5.249) == "5.2×" and f.times(5.25) == "5.3×" and f.times(0) == "0.0×"
    assert f.score(4) == "4.0" and f.score("7.25") == "7.2" and f.score(9.99) == "9.9"
    assert f.score(3.96) == "3.9"  # rounded down: never "4.0" under the 4.0 threshold
    assert f.decimal(10.0) == "10" and f.decimal(1.5) == "1.5" and f.decimal(0.125) == "0.13"
    assert f.decimal(1234.5, 0) == "1,235"


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("views", 971_119, "971.1K"),
        ("engagement_rate", 0.061, "6.1 %"),
        ("roas", 5.2, "5.2×"),
        ("watch_time_ms", 245_000, "4 min 5 s"),
        ("conversions", 1234, "1,234"),
        ("a_metric_layers_adds_later", 12.0, "12"),
    ],
)
def test_metric_text(metric, value, expected):
    assert f.metric_text(value, metric) == expected


def test_metric_changes_are_signed_and_zero_reads_plus_minus():
    assert f.metric_change_text(1200, "views") == "+1.2K"
    assert f.metric_change_text(-0.004, "engagement_rate") == "-0.4 %"
    assert f.metric_change_text(0.0004, "engagement_rate") == "±0.0 %"
    assert f.metric_change_text(300, "watch_time_ms") == "±0 s"
    assert f.metric_change_text(0, "roas") == "±0.0×"


def test_labels_come_from_the_apps_vocabularies():
    assert f.api_label("content_container", "source_type") == "Generated"
    assert f.api_label("apple_ads", "platform") == "Apple Search Ads"
    assert f.api_label("not_required", "approval_status") == "No approval needed"
    assert f.api_label("archived", "project_status") == "Archived"  # projects' own vocabulary
    assert f.api_label("", "override") == "None"  # the kind labels the empty value
    assert f.api_label(None, "platform") == "–"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("brand_new_value", "Brand new value"),
        ("ugc-remix-v2", "Ugc remix v2"),
        ("a\x00b\tc", "Ab c"),
        ("x" * 200, "X" + "x" * 58 + "…"),
        ("___", "–"),
    ],
)
def test_unknown_values_read_prettified(raw, expected):
    assert f.api_label(raw, "platform") == expected
    assert f.api_label(raw, "a kind nobody registered") == expected


def test_a_value_cannot_be_labelled_twice():
    f.labels_register({"source_type": {"manual": "Manual uploads"}})  # the same again: fine
    with pytest.raises(ValueError, match="labelled twice"):
        f.labels_register({"source_type": {"manual": "Something else"}})
    assert f.labels_for("source_type")["manual"] == "Manual uploads"


def render(source: str, **context) -> str:
    return Template("{% load dashboard %}" + source).render(Context(context))


def test_the_label_filter_shows_the_raw_value_and_escapes_hostile_text():
    assert (
        render('{{ v|api_label:"source_type" }}', v="content_container")
        == '<span title="raw: content_container">Generated</span>'
    )
    hostile = '"><script>alert(1)</script>'
    html = render('{{ v|api_label:"platform" }}', v=hostile)
    assert "<script>" not in html and "&lt;script&gt;" in html and 'title="raw: &quot;&gt;' in html
    assert render('{{ v|api_label:"platform" }}', v=None) == "–"
    assert render('{{ v|api_labels:"platform" }}', v=["tiktok", "<b>"]) == (
        '<span title="raw: tiktok">TikTok</span>, <span title="raw: &lt;b&gt;">&lt;b&gt;</span>'
    )


def test_a_compacted_count_keeps_its_full_number_for_hover_focus_and_touch():
    assert render('{{ v|compact:"views" }}', v=971_119) == (
        '<abbr class="count" tabindex="0" title="971,119 views">971.1K</abbr>'
    )
    assert render('{{ v|compact:"views" }}', v=950) == "950"  # nothing dropped: plain text
    assert render("{{ v|metric_value:'views' }}", v=5000).startswith('<abbr class="count"')
    assert render("{{ v|metric_value:'roas' }}", v=5.2) == "5.2×"
    assert render("{{ v|amount }} {{ v|share }}", v=62.5) == "62.50 62.5 %"


def test_admin_columns_show_the_label_and_sort_on_the_raw_field():
    from types import SimpleNamespace

    from layersadmin.admin import api_label_column

    column = api_label_column("status", "project_status")
    assert (
        column(SimpleNamespace(status="archived")) == '<span title="raw: archived">Archived</span>'
    )
    assert (
        column(SimpleNamespace(status="<new>"))
        == '<span title="raw: &lt;new&gt;">&lt;new&gt;</span>'
    )
    assert column.admin_order_field == "status" and column.short_description == "status"
