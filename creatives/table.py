"""The scored-creatives table's columns, defined once: its header and cells
(templates/creatives/creative_list.html), its sorts and keyset (``creatives.selectors``) and
its CSV export (``creatives.views.creative_export``) all read ``COLUMNS``.

Each column names the value it sorts on (a field or an annotation of ``creative_queryset``),
the first direction a click on its header asks for, and what it exports: the values its cell
shows, as plain data (numbers unformatted, times in the project's zone). The figure columns
are ``vocabulary.FIGURES``, in their order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creatives.vocabulary import FIGURES, Figure
from layersadmin.formatting import metric_text

ASC, DESC = "asc", "desc"


def _local(moment: datetime | None, zone) -> str:
    return moment.astimezone(zone).isoformat() if moment else ""


def _promotions(row: Any, zone) -> str:
    promotions = row.active_promotions if isinstance(row.active_promotions, list) else []
    return " ".join(str(p.get("platform", "")) for p in promotions if isinstance(p, dict)).strip()


Export = tuple[str, Callable[[Any, Any], Any]]  # (CSV header, value of (row, zone))


@dataclass(frozen=True)
class Column:
    key: str  # the sort's name: "<key>_desc" / "<key>_asc"
    label: str
    kind: str  # which cell the template draws
    sort_on: str  # a field or an annotation of creative_queryset
    value_type: type  # of the sort value, for the keyset cursor
    nullable: bool = False  # NULLs sort last, both ways
    first: str = DESC  # what a first click on the header asks for
    numeric: bool = False
    exports: tuple[Export, ...] = ()
    figure: Figure | None = None
    hint: str = ""  # the header's tooltip

    @property
    def sorts(self) -> dict[str, str]:
        """This column's sort names and labels, highest (or A) first."""
        if self.value_type is str:
            return {
                f"{self.key}_asc": f"{self.label}, A to Z",
                f"{self.key}_desc": f"{self.label}, Z to A",
            }
        if self.value_type is bool:
            return {
                f"{self.key}_desc": f"{self.label}, yes first",
                f"{self.key}_asc": f"{self.label}, no first",
            }
        return {
            f"{self.key}_desc": f"{self.label}, highest first",
            f"{self.key}_asc": f"{self.label}, lowest first",
        }


def _figure_column(figure: Figure) -> Column:
    hint = ""
    if figure.format == "amount":
        hint = "As Layers gives it: the API documents no currency."
    return Column(
        key=figure.name,
        label=figure.label,
        kind="figure",
        sort_on=f"fig_{figure.name}",
        value_type=float,
        nullable=True,
        numeric=True,
        exports=((figure.csv, lambda row, zone, name=figure.name: getattr(row, f"fig_{name}")),),
        figure=figure,
        hint=hint,
    )


COLUMNS: tuple[Column, ...] = (
    Column(
        key="title",
        label="Creative",
        kind="creative",
        sort_on="sort_title",
        value_type=str,
        nullable=True,
        first=ASC,
        exports=(
            ("adsContentId", lambda row, zone: row.layers_id),
            ("title", lambda row, zone: row.title),
            ("sourceType", lambda row, zone: row.source_type),
        ),
    ),
    Column(
        key="pool",
        label="Pool",
        kind="pool",
        sort_on="sort_pool",
        value_type=str,
        nullable=True,
        first=ASC,
        exports=(("scoringPool", lambda row, zone: row.scoring_pool),),
    ),
    Column(
        key="score",
        label="Score",
        kind="score",
        sort_on="organic_score",
        value_type=float,
        numeric=True,
        exports=(("organicScore", lambda row, zone: row.organic_score),),
    ),
    Column(
        key="eligible",
        label="Eligibility",
        kind="eligibility",
        sort_on="is_eligible",
        value_type=bool,
        exports=(
            ("eligible", lambda row, zone: "yes" if row.is_eligible else "no"),
            ("eligibilityReason", lambda row, zone: row.eligibility_reason),
        ),
    ),
    Column(
        key="override",
        label="Override",
        kind="override",
        sort_on="sort_override",
        value_type=str,
        nullable=True,
        first=ASC,
        exports=(
            ("override", lambda row, zone: row.override),
            ("overrideNote", lambda row, zone: row.override_note),
            ("overrideSetBy", lambda row, zone: row.override_set_by),
            ("overrideSetAt", lambda row, zone: _local(row.override_set_at, zone)),
        ),
    ),
    Column(
        key="promotions",
        label="Promotions",
        kind="promotions",
        sort_on="sort_promoted",
        value_type=bool,
        hint="Sorts promoted creatives (ads running now) first or last.",
        exports=(("activePromotions", _promotions),),
    ),
    *(_figure_column(figure) for figure in FIGURES),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
FIGURE_COLUMNS = tuple(column for column in COLUMNS if column.figure is not None)


@dataclass(frozen=True)
class Sort:
    name: str
    label: str
    column: Column | None
    sort_on: str
    value_type: type
    descending: bool
    nullable: bool = False


def _sorts() -> dict[str, Sort]:
    sorts: dict[str, Sort] = {}
    for column in COLUMNS:
        for name, label in column.sorts.items():
            sorts[name] = Sort(
                name=name,
                label=label,
                column=column,
                sort_on=column.sort_on,
                value_type=column.value_type,
                descending=name.endswith("_desc"),
                nullable=column.nullable,
            )
    # Not a column of its own (the detail page shows it), kept for links made before.
    sorts["scored_at_desc"] = Sort(
        name="scored_at_desc",
        label="Scored most recently",
        column=None,
        sort_on="scored_at",
        value_type=datetime,
        descending=True,
        nullable=True,
    )
    return sorts


# Every ordering ends on layers_id, the same way, so the keyset is total.
SORTS: dict[str, Sort] = _sorts()
DEFAULT_SORT = "score_desc"


def export_header() -> list[str]:
    return [header for column in COLUMNS for header, _value in column.exports]


def export_line(row: Any, zone) -> list[Any]:
    return [value(row, zone) for column in COLUMNS for _header, value in column.exports]


@dataclass
class Header:
    """One column's header as a page shows it: its sort link and state."""

    column: Column
    query: str  # the page's query string when this header is clicked
    aria_sort: str = "none"  # "ascending" / "descending" when the table is sorted on it
    next_label: str = ""


@dataclass
class CreativeTable:
    """What the creatives table needs beyond its rows: the window, its columns, the words for
    a creative without figures, and (on the list page) its headers."""

    window: str
    window_label: str
    missing_short: str
    missing_long: str
    columns: tuple[Column, ...] = COLUMNS
    headers: list[Header] = field(default_factory=list)

    @property
    def figure_count(self) -> int:
        return len(FIGURE_COLUMNS)

    @property
    def first_figure(self) -> Column:
        return FIGURE_COLUMNS[0]


def table_headers(*, sort: str, query: Callable[[str], str]) -> list[Header]:
    """Each column's header for a table sorted by ``sort``: a click sorts on it (its first
    direction, or the other one when it is the sort already); ``query(sort)`` makes the link."""
    headers = []
    for column in COLUMNS:
        names = column.sorts
        current = sort if sort in names else ""
        first = f"{column.key}_{column.first}"
        other = f"{column.key}_{ASC if column.first == DESC else DESC}"
        target = other if current == first else first
        aria = "none"
        if current:
            aria = "descending" if current.endswith("_desc") else "ascending"
        headers.append(
            Header(column=column, query=query(target), aria_sort=aria, next_label=names[target])
        )
    return headers


# --- Leaderboards -------------------------------------------------------------------------------
# The project and agency leaderboard tables (templates/leaderboard/project.html, agency.html),
# column by column, with what each one's CSV export carries: the exports read these, in this
# order, and a test holds each table's header cells to them (tests/creatives/test_board_columns).

BoardExport = tuple[str, Callable[[Any, str], Any]]  # (CSV header, value of (row, metric))


def _movement(row: Any, metric: str) -> str:
    return f"{row.movement} {row.delta}" if row.movement in ("up", "down") else row.movement


def _section(name: str, field: str) -> Callable[[Any, str], Any]:
    def value(row: Any, metric: str) -> Any:
        return (getattr(row, name) or {}).get(field)

    return value


def _platforms(row: Any, metric: str) -> str:
    return " ".join((row.organic or {}).get("platforms", []) or [])


def _shown(row: Any, metric: str) -> str:
    return metric_text(row.metric_value, metric)  # plain text: this is the CSV


def _as_of(row: Any, metric: str) -> str:
    return row.snapshot.fetched_at.isoformat() if row.snapshot else ""


@dataclass(frozen=True)
class BoardColumn:
    key: str
    label: str  # the header cell's text ("": the metric's own label)
    exports: tuple[BoardExport, ...] = ()


BOARD_RANK = BoardColumn("rank", "Rank", (("rank", lambda row, metric: row.rank),))
# Rank movement and metric change against the page's baseline (vocabulary.BASELINES).
BOARD_MOVE = BoardColumn(
    "move",
    "Move",
    (("movement", _movement), ("metricChange", lambda row, metric: row.metric_change)),
)
BOARD_THUMBNAIL = BoardColumn("thumbnail", "Thumbnail")
BOARD_CREATIVE = BoardColumn(
    "creative",
    "Creative",
    (
        ("title", lambda row, metric: row.title),
        ("adsContentId", lambda row, metric: row.ads_content_id),
        ("sourceType", lambda row, metric: row.source_type),
    ),
)
BOARD_PROJECT = BoardColumn(
    "project",
    "Project",
    (
        ("project", lambda row, metric: row.project.name),
        ("projectId", lambda row, metric: row.project.layers_id),
        ("projectRank", lambda row, metric: row.project_rank),  # "#N in its project"
    ),
)
BOARD_METRIC = BoardColumn(
    "metric", "", (("metricValue", lambda row, metric: row.metric_value), ("shown", _shown))
)
BOARD_BAR = BoardColumn("bar", "Compared with the leader")
BOARD_BREAKDOWN = BoardColumn(
    "breakdown",
    "Organic and paid",
    (
        ("views", _section("organic", "views")),
        ("engagementRate", _section("organic", "engagementRate")),
        ("watchTimeMs", _section("organic", "watchTimeMs")),
        ("platforms", _platforms),
        ("spend", _section("paid", "spend")),
        ("conversions", _section("paid", "conversions")),
        ("roas", _section("paid", "roas")),
        ("cpa", _section("paid", "cpa")),
    ),
)
BOARD_AS_OF = BoardColumn("as_of", "As of", (("asOf", _as_of),))

PROJECT_BOARD_COLUMNS = (
    BOARD_RANK,
    BOARD_MOVE,
    BOARD_THUMBNAIL,
    BOARD_CREATIVE,
    BOARD_METRIC,
    BOARD_BAR,
    BOARD_BREAKDOWN,
)
AGENCY_BOARD_COLUMNS = (
    BOARD_RANK,
    BOARD_THUMBNAIL,
    BOARD_CREATIVE,
    BOARD_PROJECT,
    BOARD_METRIC,
    BOARD_BAR,
    BOARD_BREAKDOWN,
    BOARD_AS_OF,
)


def board_export_header(columns: tuple[BoardColumn, ...]) -> list[str]:
    return [header for column in columns for header, _value in column.exports]


def board_export_line(row: Any, metric: str, columns: tuple[BoardColumn, ...]) -> list[Any]:
    return [value(row, metric) for column in columns for _header, value in column.exports]
