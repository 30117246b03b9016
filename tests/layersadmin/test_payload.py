from __future__ import annotations

from datetime import UTC, datetime

from layersadmin.layers import payload as p


def test_timestamps_in_every_documented_form():
    assert p.timestamp("2026-04-17T13:10:00Z") == datetime(2026, 4, 17, 13, 10, tzinfo=UTC)
    assert p.timestamp("2026-04-18T19:11:02.413Z").microsecond == 413000
    assert p.timestamp("2026-04-18T19:11:02.123456+00:00").microsecond == 123456
    assert p.timestamp("yesterday") is None
    assert p.timestamp(None) is None
    assert p.timestamp(12345) is None


def test_clean_removes_nul_and_non_finite_numbers():
    assert p.clean({"a\x00": ["x\x00y", float("nan"), 1.5]}) == {"a": ["xy", None, 1.5]}


def test_url_keeps_only_http_and_https():
    assert p.url("https://media.example/x.jpg") == "https://media.example/x.jpg"
    assert p.url("javascript:alert(1)") == ""
    assert p.url("data:text/html,<script>") == ""
    assert p.url("https://x/" + "a" * 2000) == ""


def test_numbers_and_text_never_raise():
    assert p.number("4.5") == 4.5
    assert p.number("NaN") == 0.0
    assert p.number(True) == 0.0
    assert p.integer("9" * 40) is None
    assert p.text({"a": 1}) == ""
    assert p.text("abc", 2) == "ab"
