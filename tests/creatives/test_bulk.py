"""Bulk overrides (creatives.bulk) against the sandbox over HTTP: one PATCH and one key per
row, a retried run sends the same key, a partial failure loses nothing and names the row,
Undo puts back what was there; and who may do it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from creatives.bulk import (
    UNDO_WINDOW,
    BulkRefused,
    bulk_override_create,
    bulk_override_run,
    bulk_override_undo,
)
from creatives.models import AdsContent, BulkOverride, BulkOverrideItem, OverrideAudit
from projects.models import Project
from tests.conftest import HX, grant, html, make_client
from tests.factories import AdsContentFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def editor(client, user):
    grant(user, "change_override")
    client.force_login(user)
    return user


@pytest.fixture
def immediate(settings):
    settings.TASKS = IMMEDIATE  # the task runs inside enqueue, as LAYERS_TASKS_BACKEND=immediate


def rows_of(editor, n=3, **filters) -> list[AdsContent]:
    project = Project.objects.filter(status="active").order_by("name").first()
    project.account_managers.add(editor)
    return list(
        AdsContent.objects.filter(project=project, is_gone=False, **filters).order_by("layers_id")[
            :n
        ]
    )


class Recording:
    """A real client that records each override's Idempotency-Key; ``lose_answer`` loses the
    answer of the first PATCH after sending it (a worker killed mid-call)."""

    def __init__(self, server, *, lose_answer: bool = False):
        self.client = make_client(server)
        self.keys: list[tuple[str, str]] = []
        self.lose_answer = lose_answer

    def __getattr__(self, name):
        return getattr(self.client, name)

    def ads_content_override_set(self, project_id, ads_content_id, **kwargs):
        self.keys.append((ads_content_id, kwargs["idempotency_key"]))
        answer = self.client.ads_content_override_set(project_id, ads_content_id, **kwargs)
        if self.lose_answer:
            self.lose_answer = False
            raise RuntimeError("worker killed after sending")
        return answer


def test_each_row_gets_its_own_patch_key_audit_and_result(synced, editor):
    rows = rows_of(editor, override="")
    bulk = bulk_override_create(
        user=editor,
        action="include",
        note="Spring push",
        ads_content_ids=[r.pk for r in rows],
        enqueue=False,
    )
    items = list(bulk.items.order_by("position"))
    assert [i.ads_content_id for i in items] == [r.pk for r in rows]
    assert len({i.idempotency_key for i in items}) == 3  # one key per row, made at creation
    client = Recording(synced)
    summary = bulk_override_run(bulk_id=bulk.pk, client=client)
    assert summary["done"] == 3 and summary["status"] == "done"
    assert [key for _id, key in client.keys] == [i.idempotency_key for i in items]
    for row, item in zip(rows, items, strict=True):
        row.refresh_from_db()
        assert (row.override, row.override_note) == ("include", "Spring push")
        audit = OverrideAudit.objects.get(ads_content=row)
        assert (audit.idempotency_key, audit.source, audit.outcome) == (
            item.idempotency_key,
            "bulk",
            "succeeded",
        )
    bulk.refresh_from_db()
    assert bulk.undo_until is not None
    assert abs(bulk.undo_until - bulk.finished_at - UNDO_WINDOW) < timedelta(seconds=1)


def test_a_retried_run_sends_the_same_key_and_the_row_is_applied_once(synced, editor):
    rows = rows_of(editor, n=2, override="")
    bulk = bulk_override_create(
        user=editor, action="exclude", note="", ads_content_ids=[r.pk for r in rows], enqueue=False
    )
    first = Recording(synced, lose_answer=True)
    with pytest.raises(RuntimeError):
        bulk_override_run(bulk_id=bulk.pk, client=first)
    bulk.refresh_from_db()
    assert bulk.status == "stopped"  # nothing lost: the rows not finished are still pending
    assert set(bulk.items.values_list("status", flat=True)) == {"pending"}
    again = Recording(synced)
    summary = bulk_override_run(bulk_id=bulk.pk, client=again)  # the resumed task
    assert summary["done"] == 2
    item = bulk.items.get(position=0)
    assert first.keys == [again.keys[0]] == [(rows[0].layers_id, item.idempotency_key)]
    assert set(
        OverrideAudit.objects.filter(ads_content=rows[0]).values_list("idempotency_key", flat=True)
    ) == {item.idempotency_key}
    rows[0].refresh_from_db()
    assert rows[0].override == "exclude"


def test_a_partial_failure_names_the_row_and_the_others_go_through(
    synced, client, editor, immediate
):
    rows = rows_of(editor, override="")
    gone = rows[1]  # deleted upstream since the last sync: Layers answers 404
    AdsContent.objects.filter(pk=gone.pk).update(
        layers_id="99999999-dead-4bbb-8ccc-000000000000", key="99999999dead4bbb8ccc000000000000"
    )
    response = client.post(
        "/creatives/bulk/",
        {"action": "include", "note": "Q3", "ids": [r.pk for r in rows], "next": "/"},
        **HX,
    )
    assert response.status_code == 202
    page = html(response)
    bulk = BulkOverride.objects.get()
    statuses = dict(bulk.items.values_list("ads_content_id", "status"))
    assert statuses == {rows[0].pk: "done", gone.pk: "failed", rows[2].pk: "done"}
    failed = bulk.items.get(status="failed")
    assert failed.error_code == "NOT_FOUND" and failed.request_id.startswith("req_")
    assert "1 row was not changed" in page and "Layers no longer has this creative" in page
    assert f'data-failed="{gone.pk}"' in page and "code NOT_FOUND" in page
    assert "hx-trigger" not in page.split("</div>")[0]  # done: no more polling
    # Each finished row comes back out of band, with its own result.
    assert page.count('hx-swap-oob="true"') == 3
    assert re.search(rf'<tr id="creative-{gone.pk}"[^>]*hx-swap-oob', page)
    for row in (rows[0], rows[2]):
        row.refresh_from_db()
        assert row.override == "include"


def test_progress_polls_while_pending_and_stops_when_done(editor, client):
    project = ProjectFactory()
    project.account_managers.add(editor)
    rows = AdsContentFactory.create_batch(2, project=project)
    bulk = bulk_override_create(
        user=editor, action="include", note="", ads_content_ids=[r.pk for r in rows], enqueue=False
    )
    page = html(client.get(f"/creatives/bulk/{bulk.pk}/", **HX))
    assert 'hx-trigger="every 1s"' in page and "Queued, waiting for a worker" in page
    assert "0 done, 0 failed, 0 skipped, 2 to go" in page
    full = html(client.get(f"/creatives/bulk/{bulk.pk}/"))
    assert '<meta http-equiv="refresh" content="2">' in full  # without JavaScript too
    BulkOverride.objects.filter(pk=bulk.pk).update(status="done", finished_at=timezone.now())
    bulk.items.update(status="skipped", error_code="UNCHANGED")
    page = html(client.get(f"/creatives/bulk/{bulk.pk}/", **HX))
    assert "hx-trigger" not in page and "Done:" in page and "Already so" in page


def test_undo_puts_back_each_rows_previous_override_and_note(synced, editor, immediate):
    rows = rows_of(editor, n=2, override="")
    AdsContent.objects.filter(pk=rows[0].pk).update(override="exclude", override_note="old")
    rows[0].refresh_from_db()
    bulk = bulk_override_create(
        user=editor, action="include", note="new", ads_content_ids=[r.pk for r in rows]
    )
    bulk.refresh_from_db()
    assert bulk.status == "done" and bulk.items.filter(status="done").count() == 2
    undo = bulk_override_undo(bulk=bulk, user=editor)
    undo.refresh_from_db()
    assert (undo.kind, undo.status, undo.undo_of_id) == ("undo", "done", bulk.pk)
    rows[0].refresh_from_db()
    rows[1].refresh_from_db()
    assert (rows[0].override, rows[0].override_note) == ("exclude", "old")
    assert (rows[1].override, rows[1].override_note) == ("", "")
    with pytest.raises(BulkRefused) as refused:
        bulk_override_undo(bulk=bulk, user=editor)
    assert refused.value.code in {"UNDONE_ALREADY", "NOT_UNDOABLE"}


def test_undo_leaves_a_row_changed_since_and_refuses_when_too_late(synced, editor, immediate):
    rows = rows_of(editor, n=2, override="")
    bulk = bulk_override_create(
        user=editor, action="exclude", note="", ads_content_ids=[r.pk for r in rows]
    )
    AdsContent.objects.filter(pk=rows[0].pk).update(override="include")  # someone else, since
    undo = bulk_override_undo(bulk=bulk, user=editor)
    items = dict(undo.items.values_list("ads_content_id", "error_code"))
    assert items == {rows[0].pk: "CHANGED_SINCE", rows[1].pk: ""}
    rows[0].refresh_from_db()
    assert rows[0].override == "include"
    late = bulk_override_create(
        user=editor, action="include", note="", ads_content_ids=[rows[1].pk]
    )
    BulkOverride.objects.filter(pk=late.pk).update(undo_until=timezone.now() - timedelta(1))
    late.refresh_from_db()
    with pytest.raises(BulkRefused) as refused:
        bulk_override_undo(bulk=late, user=editor)
    assert refused.value.code == "UNDO_EXPIRED"


def test_a_bulk_action_needs_the_override_permission(client, manager, project):
    row = AdsContentFactory(project=project)
    response = client.post("/creatives/bulk/", {"action": "include", "ids": [row.pk]}, **HX)
    assert response.status_code == 403 and "You may not change overrides" in html(response)
    with pytest.raises(BulkRefused) as refused:
        bulk_override_create(user=manager, action="include", note="", ads_content_ids=[row.pk])
    assert refused.value.code == "NO_PERMISSION"
    assert not BulkOverride.objects.exists() and not BulkOverrideItem.objects.exists()


def test_another_managers_creative_refuses_the_whole_action(client, manager, project):
    grant(manager, "change_override")
    mine = AdsContentFactory(project=project)
    theirs = AdsContentFactory(project=ProjectFactory(name="Someone else's"))
    response = client.post(
        "/creatives/bulk/",
        {"action": "exclude", "confirmed": "exclude", "ids": [mine.pk, theirs.pk]},
        **HX,
    )
    assert response.status_code == 404 and "not one you can change" in html(response)
    assert not BulkOverride.objects.exists()
    # Nor can they see the other's bulk actions.
    other = UserFactory(username="other")
    grant(other, "change_override")
    theirs.project.account_managers.add(other)
    bulk = bulk_override_create(
        user=other, action="include", note="", ads_content_ids=[theirs.pk], enqueue=False
    )
    assert client.get(f"/creatives/bulk/{bulk.pk}/").status_code == 404
    assert client.post(f"/creatives/bulk/{bulk.pk}/undo/").status_code == 404


def test_an_unconfirmed_bulk_exclude_asks_first_without_javascript(client, manager, project):
    grant(manager, "change_override")
    rows = AdsContentFactory.create_batch(2, project=project)
    back = f"/projects/{project.layers_id}/creatives/"
    response = client.post(
        "/creatives/bulk/",
        {"action": "exclude", "note": "<b>retire</b>", "ids": [r.pk for r in rows], "next": back},
    )
    page = html(response)
    assert response.status_code == 200 and "Exclude the selected creatives from ads?" in page
    assert "keep running until you pause them" in page and "&lt;b&gt;retire&lt;/b&gt;" in page
    assert page.count('name="ids"') == 2 and 'name="confirmed" value="exclude"' in page
    assert not BulkOverride.objects.exists()


def test_archived_projects_have_no_bulk_bar_and_are_refused(client, manager, project):
    grant(manager, "change_override")
    project.status = "archived"
    project.save(update_fields=["status"])
    row = AdsContentFactory(project=project)
    page = html(client.get(f"/projects/{project.layers_id}/creatives/"))
    assert 'id="bulk-form"' not in page and 'form="bulk-form"' not in page
    with pytest.raises(BulkRefused) as refused:
        bulk_override_create(user=manager, action="include", note="", ads_content_ids=[row.pk])
    assert refused.value.code == "ARCHIVED"


def test_the_agency_table_lists_every_visible_project_and_nothing_else(client, manager, project):
    grant(manager, "change_override")
    other = ProjectFactory(name="Second <Customer>")
    other.account_managers.add(manager)
    hidden = ProjectFactory(name="Not mine")
    AdsContentFactory(project=project, title="Alpha", organic_score=9)
    AdsContentFactory(project=other, title="Beta", organic_score=7)
    AdsContentFactory(project=hidden, title="Gamma", organic_score=8)
    page = html(client.get("/creatives/"))
    assert "Alpha" in page and "Beta" in page and "Gamma" not in page
    assert "Second &lt;Customer&gt;" in page and '<th scope="col">Project</th>' in page
    assert page.index("Alpha") < page.index("Beta")  # score, highest first
    assert 'id="bulk-form"' in page and page.count('form="bulk-form"') == 2
    ascending = html(client.get("/creatives/?sort=score_asc", **HX))
    assert ascending.index("Beta") < ascending.index("Alpha")
    csv = b"".join(client.get("/creatives/export.csv").streaming_content).decode()
    assert csv.splitlines()[0].startswith("project,projectId,adsContentId")
    assert "Alpha" in csv and "Beta" in csv and "Gamma" not in csv


def test_a_row_button_without_javascript_asks_for_the_note(client, manager, project):
    grant(manager, "change_override")
    row = AdsContentFactory(project=project, title="Beach <b>day</b>")
    page = html(client.get(f"/creatives/change/?include={row.pk}&next=/"))
    assert "Include this creative in ads?" in page and "Beach &lt;b&gt;day&lt;/b&gt;" in page
    assert 'name="override" value="include"' in page and 'name="confirmed"' not in page
    assert client.get(f"/creatives/change/?include={row.pk + 99}").status_code == 404
    assert client.get("/creatives/change/?include=x").status_code == 404


def test_a_single_override_offers_undo_and_undo_puts_it_back(synced, client, editor):
    row = rows_of(editor, n=1, override="")[0]
    data = {"creative": row.pk, "override": "include", "note": "hero", "form_token": "t1"}
    page = html(client.post("/creatives/change/", data, **HX))
    assert "Layers confirmed the change" in page and ">Undo</button>" in page
    assert "possible until" in page
    audit = OverrideAudit.objects.get(ads_content=row)
    page = html(client.post(f"/creatives/changes/{audit.pk}/undo/", {}, **HX))
    assert "Undone" in page
    row.refresh_from_db()
    assert (row.override, row.override_note) == ("", "")
