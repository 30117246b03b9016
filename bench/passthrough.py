"""The pass-through baseline of measure 5: the same dashboard views, answered from the API.

Each dashboard view is run unchanged (same URL, middleware, form, template, context), with
its reads from the local database swapped for live calls to the sandbox. Everything a page
shows is fetched: a number on the page that needs every row (a total, the filter choices, a
project's counts) needs the whole list walked, because the API has no counts. A walk is
shared within one request (the gallery's total, choices and cards come from one walk of the
content list) but never across requests. The client keeps its connection open between calls
(the dashboard's override opens a new one each time), which favours the pass-through.

What the live answers leave out (each favours the pass-through): rank movement and the
"linked" check on leaderboards (no history upstream), score trend lines (no history), who
overrode a creative here (local only), the account-manager visibility rule (local only).

``floor(...)`` times the fewest calls any live answer needs (e.g. one content page of 24 for
the gallery), without rendering, as a lower bound of the pass-through.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from django.utils import timezone

import creatives.views as creative_views
import projects.selectors as project_selectors
import projects.views as project_views
from creatives import selectors as cs
from creatives.demand import FETCHED, AgencyView, BoardView
from creatives.mapping import ads_content_fields_from_api, container_fields_from_api
from creatives.models import ELIGIBILITY_THRESHOLD, AdsContent, ContentContainer
from creatives.models import LeaderboardSnapshot as Snapshot
from creatives.services import OverrideResult, leaderboard_filters, override_validate
from creatives.table import CreativeTable
from creatives.vocabulary import FIGURE_WINDOW_LABELS
from layersadmin.layers import LayersClient
from layersadmin.layers import payload as p
from projects.mapping import project_fields_from_api
from projects.models import Project

PAGE = 200  # the API's largest page


class Live:
    """Live reads for one request at a time (``request()`` clears what the last one fetched)."""

    def __init__(self, client: LayersClient) -> None:
        self.client = client
        self.cache: dict[Any, Any] = {}

    # --- API walks (shared within one request) ------------------------------------------------

    def _once(self, key, fetch):
        if key not in self.cache:
            self.cache[key] = fetch()
        return self.cache[key]

    def project_rows(self) -> list[dict]:
        def fetch():
            rows = []
            for status in (None, "archived"):
                for page in self.client.projects_pages(status=status, limit=PAGE):
                    rows.extend(page.items)
            return rows

        return self._once("projects", fetch)

    def content(self, project_id: str) -> list[dict]:
        return self._once(
            ("content", project_id),
            lambda: [
                i for pg in self.client.content_pages(project_id, limit=PAGE) for i in pg.items
            ],
        )

    def ads(self, project_id: str) -> list[dict]:
        return self._once(
            ("ads", project_id),
            lambda: [
                i for pg in self.client.ads_content_pages(project_id, limit=PAGE) for i in pg.items
            ],
        )

    def project(self, project_id: str) -> Project:
        def fetch():
            return self._project(self.client.project_get(project_id))

        return self._once(("project", project_id), fetch)

    @staticmethod
    def _project(data: dict, pk: int | None = None) -> Project:
        project = Project(**project_fields_from_api(data), synced_at=timezone.now())
        project.pk = pk
        project.last_sync_ok_at = timezone.now()  # live data is as fresh as it gets
        return project

    # --- the selectors, live --------------------------------------------------------------------

    def project_for_user(self, user, project_id: str) -> Project:
        return self.project(project_id)

    def project_statuses(self, *, user) -> list[str]:
        found = {p.text(row.get("status"), 32) for row in self.project_rows()}
        return sorted(found | {"active", "archived"})

    def project_list(self, *, user, q: str = "", status: str = "") -> list[Project]:
        projects = []
        for index, row in enumerate(self.project_rows(), start=1):
            project = self._project(row, pk=index)
            if status and project.status != status:
                continue
            content = self.content(project.layers_id)
            ads = self.ads(project.layers_id)  # score_desc: the first eligible row is the top
            eligible = [a for a in ads if (a.get("eligibility") or {}).get("isEligible")]
            project.content_count = len(content)
            project.scored_count = len(ads)
            project.eligible_count = len(eligible)
            top = eligible[0] if eligible else {}
            project.top_creative_id = top.get("adsContentId")
            project.top_creative_title = top.get("title")
            project.top_creative_score = top.get("organicScore")
            project.top_creative_thumbnail = top.get("thumbnailUrl")
            projects.append(project)
        projects.sort(key=lambda pr: (pr.name, pr.pk))
        return projects

    def container_choices(self, *, project: Project) -> dict[str, list[str]]:
        found: dict[str, set[str]] = {"status": set(), "format": set(), "creative_type": set()}
        for item in self.content(project.layers_id):
            found["status"].add(item.get("status") or "")
            found["format"].add(item.get("format") or "")
            found["creative_type"].add(item.get("creativeType") or "")
        return {key: sorted(v for v in values if v) for key, values in found.items()}

    def container_page(
        self,
        *,
        project: Project,
        cursor=None,
        size: int = cs.GALLERY_PAGE_SIZE,
        with_total: bool = True,
        statuses=(),
        formats=(),
        creative_type: str = "",
        since=None,
        until=None,
    ) -> cs.Page:
        items = self.content(project.layers_id)  # newest first, as the gallery
        statuses, formats = set(statuses or ()), set(formats or ())
        if statuses or formats or creative_type or since or until:
            items = [
                i
                for i in items
                if (not statuses or i.get("status") in statuses)
                and (not formats or i.get("format") in formats)
                and (not creative_type or i.get("creativeType") == creative_type)
                and (since is None or p.timestamp(i.get("createdAt")) >= since)
                and (until is None or p.timestamp(i.get("createdAt")) < until)
            ]
        start = 0
        if cursor is not None:
            created_at, layers_id = cursor
            while start < len(items) and (
                p.timestamp(items[start].get("createdAt")),
                items[start].get("id"),
            ) >= (created_at, layers_id):
                start += 1
        scored: dict[str, dict] = {}
        for row in self.ads(project.layers_id):  # score_desc: the first row per source wins
            source = row.get("sourceId")
            if source and source not in scored:
                scored[source] = row
        rows = []
        for item in items[start : start + size + 1]:
            container = ContentContainer(**container_fields_from_api(item), project=project)
            creative = scored.get(container.layers_id) or {}
            container.ads_content_layers_id = creative.get("adsContentId")
            container.ads_content_score = creative.get("organicScore")
            rows.append(container)
        page = cs._page(rows, size, cs.gallery_cursor)
        page.total = len(items) if with_total else None
        return page

    def _ads_rows(self, project: Project, *, sort: str = "score_desc", **filters) -> list[dict]:
        rows = self.ads(project.layers_id)
        if sort != "score_desc":
            rows = [
                i
                for pg in self.client.ads_content_pages(project.layers_id, limit=PAGE, sort=sort)
                for i in pg.items
            ]
        pool, override = filters.get("pool"), filters.get("override")
        eligible, min_score = filters.get("eligible"), filters.get("min_score")
        watch = filters.get("watch")

        def keep(row: dict) -> bool:
            score = p.number(row.get("organicScore"))
            mine = row.get("override") or ""
            is_eligible = bool((row.get("eligibility") or {}).get("isEligible"))
            return (
                (not pool or row.get("scoringPool") == pool)
                and (override != "none" or not mine)
                and (override != "set" or bool(mine))
                and (override in ("", "none", "set", None) or mine == override)
                and (eligible is None or is_eligible == eligible)
                and (min_score is None or score >= min_score)
                and (
                    watch != "included_low" or (mine == "include" and score < ELIGIBILITY_THRESHOLD)
                )
                and (
                    watch != "excluded_high"
                    or (mine == "exclude" and score >= ELIGIBILITY_THRESHOLD)
                )
            )

        return [row for row in rows if keep(row)]

    def creative_pools(self, *, project: Project) -> list[str]:
        return sorted({row.get("scoringPool") for row in self.ads(project.layers_id)} - {None, ""})

    def watchlist_counts(self, *, project: Project) -> dict[str, int]:
        return {
            "included_low": len(self._ads_rows(project, watch="included_low")),
            "excluded_high": len(self._ads_rows(project, watch="excluded_high")),
        }

    def _creative(self, project: Project, data: dict) -> AdsContent:
        row = AdsContent(**ads_content_fields_from_api(data), project=project)
        row.trend = [row.organic_score]  # no history upstream
        row.local_set_by = row.local_set_after = row.local_set_key = row.local_set_at = None
        return row

    def creative_page(
        self,
        *,
        project: Project,
        sort: str = "score_desc",
        cursor=None,
        size: int = cs.CREATIVES_PAGE_SIZE,
        with_total: bool = True,
        **filters,
    ) -> cs.Page:
        rows = self._ads_rows(project, sort=sort, **filters)
        start = 0
        if cursor is not None:
            value, layers_id = cursor
            for start, row in enumerate(rows):  # noqa: B007
                key = (row.get("organicScore"), row.get("adsContentId"))
                if (sort == "score_asc" and key > (value, layers_id)) or (
                    sort != "score_asc" and key < (value, layers_id)
                ):
                    break
            else:
                start = len(rows)
        shown = [self._creative(project, row) for row in rows[start : start + size + 1]]
        page = cs._page(shown, size, lambda r: cs.creative_cursor(r, sort))
        page.total = len(rows) if with_total else None
        return page

    def leaderboard_get(
        self,
        *,
        project: Project,
        metric: str,
        window: str,
        source_types=None,
        platforms=None,
        limit: int = 25,
        include_ineligible: bool = False,
        baseline: str | None = None,  # one live answer: nothing earlier to compare with
        now=None,
    ) -> cs.Leaderboard:
        filters = leaderboard_filters(
            source_types=source_types, platforms=platforms, include_ineligible=include_ineligible
        )
        data = self.client.top_performers(
            project.layers_id,
            metric=metric,
            window=window,
            source_types=filters.get("sourceType"),
            platforms=filters.get("platform"),
            limit=limit if limit != 25 else None,
            include_ineligible=include_ineligible,
        )
        items = p.clean([i for i in data.get("items") or [] if isinstance(i, dict)])
        snapshot = Snapshot(
            project=project,
            metric=metric,
            window=window,
            filters=filters,
            fetched_at=timezone.now(),
            items=items,
        )
        rows = cs.leaderboard_rows(items)[:limit]
        cs._movements(rows, None)
        cs._scale_bars(rows)
        for row in rows:
            row.linked = bool(row.ads_content_id)
        return cs.Leaderboard(snapshot=snapshot, previous=None, rows=rows, limit=limit)

    def projects_visible_to(self, user):
        return None  # the agency board below lists the projects from the API

    def attach_figures(self, rows, *, window: str):
        """No stored figures behind a live row: its cells say so."""
        return rows

    def creative_table(self, *, project: Project, window: str) -> CreativeTable:
        """The table's frame, live: the figures' window as asked, no stored boards behind it."""
        return CreativeTable(
            window=window,
            window_label=FIGURE_WINDOW_LABELS.get(window, window),
            missing_short="not read live",
            missing_long="The pass-through page reads no stored boards.",
        )

    def leaderboard_show(self, *, project: Project, fetch: bool = True, **controls) -> BoardView:
        """The page's board, read live: nothing stored, so no demand and no age."""
        return BoardView(board=self.leaderboard_get(project=project, **controls), state=FETCHED)

    def leaderboard_agency_show(
        self, *, projects, metric: str, window: str, limit: int = 25, fetch: bool = True
    ) -> AgencyView:
        rows = self.leaderboard_agency(projects=projects, metric=metric, window=window, limit=limit)
        return AgencyView(rows=rows)

    def leaderboard_agency(
        self, *, projects, metric: str, window: str, limit: int = 25
    ) -> list[cs.LeaderboardRow]:
        rows: list[cs.LeaderboardRow] = []
        for index, data in enumerate(self.project_rows(), start=1):
            project = self._project(data, pk=index)
            answer = self.client.top_performers(project.layers_id, metric=metric, window=window)
            items = p.clean([i for i in answer.get("items") or [] if isinstance(i, dict)])
            snapshot = Snapshot(
                project=project, metric=metric, window=window, fetched_at=timezone.now()
            )
            for row in cs.leaderboard_rows(items):
                if row.metric_value is None:
                    continue
                row.project, row.snapshot, row.project_rank = project, snapshot, row.rank
                rows.append(row)
        rows.sort(
            key=lambda r: (-(r.metric_value or 0.0), r.project.name, r.project.pk, r.project_rank)
        )
        rows = rows[:limit]
        for position, row in enumerate(rows, start=1):
            row.rank, row.movement, row.linked = position, cs.MOVE_SAME, bool(row.ads_content_id)
        cs._scale_bars(rows)
        return rows

    def creative_or_404(self, project: Project, ads_content_id: str) -> AdsContent:
        # The API has no "get one ads-content row"; the PATCH answers 404 for an unknown id.
        return AdsContent(project=project, layers_id=ads_content_id)

    def creative_override_set(
        self, *, ads_content: AdsContent, user, override, note="", form_token="", source=""
    ) -> OverrideResult:
        override, note = override_validate(override=override, note=note)
        data = self.client.ads_content_override_set(
            ads_content.project.layers_id,
            ads_content.layers_id,
            override=override or None,
            note=note or None,
            idempotency_key=f"bench-{time.time_ns()}",
        )
        row = self._creative(ads_content.project, data)
        self.cache["override_row"] = row

        class _Audit:
            request_id = data.request_id

        return OverrideResult(ads_content=row, audit=_Audit())

    def creative_row(self, *, ads_content: AdsContent) -> AdsContent:
        return self.cache["override_row"]

    # --- swapping them in -----------------------------------------------------------------------

    @contextlib.contextmanager
    def request(self) -> Iterator[None]:
        """Within the block, the dashboard views read live (one request's worth of cache)."""
        self.cache = {}
        swaps = [
            (project_views, "project_statuses", self.project_statuses),
            (project_selectors, "project_list", self.project_list),
            (creative_views, "project_for_user", self.project_for_user),
            (creative_views, "container_choices", self.container_choices),
            (creative_views, "container_page", self.container_page),
            (creative_views, "creative_pools", self.creative_pools),
            (creative_views, "creative_page", self.creative_page),
            (creative_views, "creative_table", self.creative_table),
            (creative_views, "attach_figures", self.attach_figures),
            (creative_views, "watchlist_counts", self.watchlist_counts),
            (creative_views, "leaderboard_get", self.leaderboard_get),
            (creative_views, "leaderboard_show", self.leaderboard_show),
            (creative_views, "leaderboard_agency_show", self.leaderboard_agency_show),
            (creative_views, "projects_visible_to", self.projects_visible_to),
            (creative_views, "leaderboard_agency", self.leaderboard_agency),
            (creative_views, "_creative_or_404", self.creative_or_404),
            (creative_views, "creative_override_set", self.creative_override_set),
            (creative_views, "creative_row", self.creative_row),
        ]
        saved = [(module, name, getattr(module, name)) for module, name, _ in swaps]
        try:
            for module, name, value in swaps:
                setattr(module, name, value)
            yield
        finally:
            for module, name, value in saved:
                setattr(module, name, value)
            self.cache = {}


# --- the floor: the fewest calls any live answer needs ------------------------------------------


def floor(client: LayersClient, page: str, *, project_id: str, depth_items: int = 0) -> None:
    """Make the minimum API calls for ``page`` (no mapping, no rendering)."""
    if page == "projects":
        for status in (None, "archived"):
            for _ in client.projects_pages(status=status, limit=PAGE):
                pass
    elif page == "gallery_first":
        next(iter(client.content_pages(project_id, limit=cs.GALLERY_PAGE_SIZE)))
    elif page == "gallery_deep":
        seen = 0
        for pg in client.content_pages(project_id, limit=PAGE):  # cursors are opaque: walk
            seen += len(pg.items)
            if seen >= depth_items + cs.GALLERY_PAGE_SIZE:
                break
    elif page == "leaderboard":
        client.top_performers(project_id, metric="views", window="30d")
    elif page == "creatives":
        next(iter(client.ads_content_pages(project_id, limit=cs.CREATIVES_PAGE_SIZE)))
    elif page == "agency_leaderboard":
        for status in (None, "archived"):
            for pg in client.projects_pages(status=status, limit=PAGE):
                for item in pg.items:
                    client.top_performers(item["id"], metric="views", window="30d")
    else:
        raise ValueError(page)
