"""``{% rowcache %}``: a row rendered once per state of what it shows, never a stale one."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.cache import caches
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from layersadmin.templatetags.fragments import stamp
from tests.factories import AdsContentFactory

ROW = (
    "{% load fragments %}{% rowcache row %}"
    "<td>{{ row.title }} {{ row.organic_score }}</td>{% endrowcache %}"
)


@pytest.fixture(autouse=True)
def _empty_fragments(settings):
    settings.FRAGMENT_CACHE_SECONDS = 60
    caches["fragments"].clear()
    yield
    caches["fragments"].clear()


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.mark.django_db
def test_a_row_is_rendered_once_and_a_changed_row_again():
    row = AdsContentFactory(title="First", organic_score=5.0)
    assert render(ROW, row=row) == "<td>First 5.0</td>"
    assert len(caches["fragments"]._cache) == 1
    assert render(ROW, row=row) == "<td>First 5.0</td>"
    assert len(caches["fragments"]._cache) == 1  # the same state: the kept markup

    row.organic_score = 7.5  # any loaded field is part of the key
    assert render(ROW, row=row) == "<td>First 7.5</td>"
    row.title = "<b>Hostile</b>"
    assert render(ROW, row=row) == "<td>&lt;b&gt;Hostile&lt;/b&gt; 7.5</td>"
    row.note_shown = "an annotation"  # what a queryset annotates counts too
    assert render(ROW, row=row) == "<td>&lt;b&gt;Hostile&lt;/b&gt; 7.5</td>"
    assert len(caches["fragments"]._cache) == 4


@pytest.mark.django_db
def test_two_fragments_on_the_same_values_never_share_markup():
    row = AdsContentFactory(title="Same")
    other = "{% load fragments %}{% rowcache row %}<li>{{ row.layers_id }}</li>{% endrowcache %}"
    assert render(ROW, row=row) == "<td>Same 5.0</td>"
    assert render(other, row=row) == f"<li>{row.layers_id}</li>"


@pytest.mark.django_db
def test_the_related_object_a_row_holds_is_part_of_its_key():
    row = AdsContentFactory()
    source = "{% load fragments %}{% rowcache row %}{{ row.project.name }}{% endrowcache %}"
    assert render(source, row=row) == row.project.name
    row.project.name = "Renamed"
    assert render(source, row=row) == "Renamed"


@pytest.mark.django_db
def test_the_timezone_is_part_of_the_key():
    row = AdsContentFactory()
    source = "{% load fragments %}{% rowcache row %}{{ row.scored_at|date:'H:i' }}{% endrowcache %}"
    with timezone.override("UTC"):
        utc = render(source, row=row)
    with timezone.override("Asia/Tokyo"):
        tokyo = render(source, row=row)
    assert utc != tokyo


def test_a_csrf_token_inside_is_refused():
    with pytest.raises(TemplateSyntaxError, match="CSRF"):
        Template("{% load fragments %}{% rowcache x %}{% csrf_token %}{% endrowcache %}")
    with pytest.raises(TemplateSyntaxError, match="CSRF"):
        Template("{% load fragments %}{% rowcache x %}{{ csrf_token }}{% endrowcache %}")
    with pytest.raises(TemplateSyntaxError, match="names the values"):
        Template("{% load fragments %}{% rowcache %}x{% endrowcache %}")


def test_off_renders_every_time(settings):
    settings.FRAGMENT_CACHE_SECONDS = 0
    source = "{% load fragments %}{% rowcache n %}{{ n }}{% endrowcache %}"
    assert render(source, n=1) == "1"
    assert len(caches["fragments"]._cache) == 0


def test_stamps_follow_content_and_never_an_address():
    @dataclasses.dataclass
    class Table:
        window: str

    class Trend(list):
        pass

    trend = Trend([1.0, 2.0])
    trend.scale = (0.0, 10.0)
    same = Trend([1.0, 2.0])
    same.scale = (0.0, 5.0)
    assert stamp(trend) != stamp(same)  # a list's own attributes count
    assert stamp(Table("7d")) == stamp(Table("7d")) != stamp(Table("30d"))
    assert stamp({"a": [1, {"b": None}]}) == stamp({"a": [1, {"b": None}]})
    assert stamp(object()) != stamp(object())  # unknown: never a hit
    from django.http import QueryDict

    assert stamp(QueryDict("a=1&a=2")) != stamp(QueryDict("a=2"))  # every value of a key


def test_objects_made_during_a_render_never_share_a_stamp():
    """A value made afresh for each row (a property returning a new object) must not be taken
    for the previous row's when Python reuses its address."""

    @dataclasses.dataclass
    class Info:
        text: str

    class Row:
        def __init__(self, text: str) -> None:
            self.text = text

        @property
        def info(self) -> Info:
            return Info(self.text)

    source = (
        "{% load fragments %}{% for row in rows %}"
        "{% rowcache row.info %}{{ row.info.text }};{% endrowcache %}{% endfor %}"
    )
    texts = [f"row {i}" for i in range(50)]
    assert render(source, rows=[Row(t) for t in texts]) == "".join(f"{t};" for t in texts)


def test_markup_with_the_request_csrf_token_is_never_kept(rf, tmp_path, settings):
    """An included template may write the token, which the parse-time check cannot see."""
    from django.template import engines

    (tmp_path / "form.html").write_text("<input value='{{ csrf_token }}'>")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]
    engine = engines["django"]
    source = "{% load fragments %}{% rowcache n %}{% include 'form.html' %}{% endrowcache %}"
    first, second = rf.get("/"), rf.get("/")
    out_first = engine.from_string(source).render({"n": 1}, request=first)
    out_second = engine.from_string(source).render({"n": 1}, request=second)
    assert "value=''" not in out_first
    assert out_first != out_second  # rendered again: each request's own token
    assert len(caches["fragments"]._cache) == 0


@pytest.mark.django_db
def test_a_query_is_never_run_to_make_a_key(django_assert_num_queries):
    from creatives.models import AdsContent

    AdsContentFactory()
    rows = AdsContent.objects.all()
    with django_assert_num_queries(0):
        assert stamp(rows) != stamp(rows)  # not evaluated: no key worth keeping
    evaluated = list(rows)
    assert stamp(rows) == stamp(rows)  # evaluated: its rows are the key
    assert stamp(rows) == stamp(evaluated).replace("list[", "list[", 1)


@pytest.mark.django_db
def test_private_memos_are_not_part_of_the_key():
    row = AdsContentFactory()
    before = stamp(row)
    row._summary_kept_for_this_request = object()  # templates cannot read "_" names
    assert stamp(row) == before


def make_getter(name: str):
    return lambda row: getattr(row, name)


def make_default_getter(name: str):
    return lambda row, name=name: getattr(row, name)


def test_functions_count_by_code_and_defaults_and_closures_never_hit():
    assert stamp(make_getter) == stamp(make_getter)
    assert stamp(make_getter("a")) != stamp(make_getter("a"))  # a closure: never a hit
    assert stamp(make_default_getter("a")) == stamp(make_default_getter("a"))
    assert stamp(make_default_getter("a")) != stamp(make_default_getter("b"))
    assert stamp(lambda row: 1) != stamp(lambda row: 2)  # same name, other code
    assert stamp(int) == stamp(int) != stamp(float)


def test_a_safe_string_is_not_taken_for_plain_text():
    from django.utils.safestring import mark_safe

    assert stamp("<b>x</b>") != stamp(mark_safe("<b>x</b>"))
    assert stamp({"t": "<b>x</b>"}) != stamp({"t": mark_safe("<b>x</b>")})
