"""After a run that wrote rows, SQLite's planner has statistics (``sync.services.runs.
planner_statistics_refresh``): without them it sorted every creative of every project for the
agency's decision table instead of reading its index in order (bench/RESULTS.md)."""

from __future__ import annotations

import pytest
from django.db import connection

from sync.services import layers_sync

pytestmark = pytest.mark.django_db


def _stat_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is None:
            return []
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        return cursor.fetchall()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL's autovacuum analyzes")
def test_a_run_leaves_the_planner_statistics_of_the_creatives(layers, layers_client):
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone() is not None:
            cursor.execute("DELETE FROM sqlite_stat1")
    assert _stat_rows("creatives_adscontent") == []
    assert layers_sync(client=layers_client).ok
    indexes = {idx for idx, _stat in _stat_rows("creatives_adscontent")}
    assert {"ads_all_by_score", "ads_summary"} <= indexes
