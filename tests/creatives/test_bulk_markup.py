"""Issue 16's lighter rows: the decision table's rows carry no form of their own."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from creatives.models import CreativeFigures
from tests.conftest import grant
from tests.factories import AdsContentFactory, ScoreSampleFactory

pytestmark = pytest.mark.django_db


def fifty_rows(project) -> None:
    now = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
    for n in range(60):
        row = AdsContentFactory(
            project=project,
            title=f"Morning routine with a latte, take {n} — the full version",
            organic_score=3 + (n % 60) / 10,
            override=("include", "exclude", "")[n % 3],
            override_note="Seasonal hero, keep it running" if n % 3 != 2 else "",
            override_set_by="lp_live_HHMRNJ2A (key_123)" if n % 3 != 2 else "",
            override_set_at=now if n % 3 != 2 else None,
            active_promotions=[{"platform": "meta_ads", "campaignId": "c1", "adId": "a1"}]
            if n % 5 == 0
            else [],
            thumbnail_url="http://127.0.0.1:8001/media/thumb-0001.svg",
        )
        for k in range(5):
            ScoreSampleFactory(ads_content=row, score=4 + k / 3)
        CreativeFigures.objects.create(
            ads_content=row,
            window="30d",
            views=123456 + n,
            engagement_rate=0.0734,
            watch_time_ms=1234567,
            spend=412.0,
            conversions=12,
            roas=3.4,
            cpa=4.68,
            source="board",
            as_of=now,
        )


def test_fifty_rows_carry_no_form_and_weigh_under_2_kb_each(client, manager, project):
    """Issue 16: one shared override form per page, not one per row. Measured on a heavy
    page (every row with figures and a trend, two in three overridden with a note, one in
    five with running ads): 225,558 bytes for the page before (a form and a dialog in every
    row, 4.2 KB a row), 121,613 after."""
    grant(manager, "change_override")
    fifty_rows(project)
    page = client.get(f"/projects/{project.layers_id}/creatives/").content.decode()
    rows = re.findall(r'<tr id="creative-.*?</tr>', page, re.S)
    assert len(rows) == 50
    assert not any("<form" in row or "<textarea" in row or "<dialog" in row for row in rows)
    assert page.count('<dialog id="override-dialog"') == 1 and page.count('id="bulk-form"') == 1
    assert sum(len(row.encode()) for row in rows) <= 50 * 2048
