"""The sync's fast write path (sync/services/writer.py), which the benchmark
made necessary: it must store exactly what Django's own bulk upsert stored, on both
databases, and fall back to the upsert when rows it was told are new turn out to exist."""

from __future__ import annotations

import datetime as dt

import pytest
from django.forms.models import model_to_dict

from creatives.models import AdsContent, ContentContainer, ScoreSample
from layersadmin.layers.ids import id_key
from sync.services import writer
from sync.services.creatives_step import score_samples_insert
from sync.services.specs import CONTAINERS
from tests.factories import ContentContainerFactory, ProjectFactory

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 10, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)


def container_row(project, layers_id: str, **changes) -> dict:
    row = {
        "layers_id": layers_id,
        "key": id_key(layers_id),
        "project_id": project.pk,
        "status": "completed",
        "format": "slideshow-builder",
        "caption": "Tabs\tand\nnew lines, quotes \" ' and unicode ✓",
        "creative_type": "generated",
        "ads_enrollment": "auto",
        "approval_status": "approved",
        "created_at": WHEN,
        "completed_at": WHEN + dt.timedelta(minutes=4),
        "preview_kind": "slideshow",
        "preview_url": "https://example.com/a.svg",
        "thumbnail_url": "https://example.com/t.svg",
        "image_urls": ["https://example.com/1.svg", "https://example.com/2.svg"],
        "video_url": "",
        "duration_ms": None,
        "aspect_ratio": "9:16",
        "raw": {"id": layers_id, "nested": {"list": [1, 2.5, None, True]}, "text": "é\\\\x"},
        "synced_at": WHEN,
        "is_gone": False,
        "missing_since": None,
        "missed_walks": 0,
    }
    row.update(changes)
    return row


def test_writer_stores_what_the_orm_stores():
    project = ProjectFactory()
    via_orm = container_row(project, "cnt_orm")
    ContentContainer.objects.create(
        **{k.removesuffix("_id") if k == "project_id" else k: v for k, v in via_orm.items()}
        | {"project": project}
    )
    writer.bulk_upsert(
        ContentContainer,
        [container_row(project, "cnt_fast")],
        ["key"],
        CONTAINERS.columns,
        new=True,
    )
    orm = model_to_dict(ContentContainer.objects.get(layers_id="cnt_orm"), exclude=["id"])
    fast = model_to_dict(ContentContainer.objects.get(layers_id="cnt_fast"), exclude=["id"])
    orm["layers_id"] = fast["layers_id"] = orm["key"] = fast["key"] = ""
    orm["raw"]["id"] = fast["raw"]["id"] = ""
    assert fast == orm
    assert ContentContainer.objects.get(layers_id="cnt_fast").created_at == WHEN


def test_rows_said_to_be_new_that_exist_are_upserted_not_refused():
    existing = ContentContainerFactory(caption="old caption")
    row = container_row(existing.project, existing.layers_id, caption="new caption")
    writer.bulk_upsert(ContentContainer, [row], ["key"], CONTAINERS.columns, new=True)
    existing.refresh_from_db()
    assert existing.caption == "new caption"
    assert ContentContainer.objects.filter(layers_id=existing.layers_id).count() == 1


def test_values_prepared_on_the_prefetch_thread_store_what_params_would():
    """``_Writer.prepare`` (run on the prefetch thread) must give the same stored row as
    adapting everything in ``params``; a row changed after it was prepared would not, so the
    sync never changes mapped fields in place."""
    project = ProjectFactory()
    fast = writer.writer_for(ContentContainer, ("key",), CONTAINERS.columns)
    plain = container_row(project, "cnt_plain")
    prepared = container_row(project, "cnt_prepared")
    fast.prepare(prepared)
    assert set(prepared[writer.PREPARED]) == {
        "created_at",
        "completed_at",
        "image_urls",
        "raw",
        "synced_at",
        "missing_since",
    }
    writer.bulk_upsert(ContentContainer, [plain, prepared], ["key"], CONTAINERS.columns, new=True)
    a = model_to_dict(ContentContainer.objects.get(layers_id="cnt_plain"), exclude=["id"])
    b = model_to_dict(ContentContainer.objects.get(layers_id="cnt_prepared"), exclude=["id"])
    a["layers_id"] = b["layers_id"] = a["key"] = b["key"] = ""
    a["raw"]["id"] = b["raw"]["id"] = ""
    assert a == b
    assert b["created_at"] == WHEN and b["image_urls"] == plain["image_urls"]


def test_score_samples_copy_the_stored_score_of_the_projects_rows_only():
    container = ContentContainerFactory()
    project = container.project
    scored = dict(project=project, source_type="content_container", scoring_pool="generated")
    AdsContent.objects.create(
        **scored, layers_id="ads-1", organic_score=4.5, scored_at=WHEN, synced_at=WHEN
    )
    AdsContent.objects.create(**scored, layers_id="ads-2", organic_score=2.0, synced_at=WHEN)
    elsewhere = ContentContainerFactory().project
    AdsContent.objects.create(
        project=elsewhere, source_type="manual", scoring_pool="generated", layers_id="ads-1",
        organic_score=9.0, synced_at=WHEN,
    )  # fmt: skip
    observed = WHEN + dt.timedelta(seconds=5)
    score_samples_insert(project.pk, ["ads-1", "ads-2", "ads-x"], observed_at=observed)
    got = sorted(
        ScoreSample.objects.values_list(
            "ads_content__project", "ads_content__layers_id", "score", "scored_at", "observed_at"
        )
    )
    assert got == [
        (project.pk, "ads-1", 4.5, WHEN, observed),
        (project.pk, "ads-2", 2.0, None, observed),
    ]


def test_writer_stores_what_bulk_create_with_update_conflicts_stores():
    """The contract: for a new row and for an update of an existing one, the fast writer and
    ``bulk_create(update_conflicts=True)`` leave the same row behind."""
    project = ProjectFactory()
    columns = [name for name in CONTAINERS.columns if name != "project"]
    for layers_id in ("cnt_orm", "cnt_fast"):  # rows to be updated by both paths
        ContentContainer.objects.create(
            project=project,
            **{k: v for k, v in container_row(project, layers_id).items() if k != "project_id"},
        )
    for suffix, changes in (("new", {}), ("", {"caption": "changed", "image_urls": []})):
        orm_id, fast_id = f"cnt_orm{suffix}", f"cnt_fast{suffix}"
        orm_row = container_row(project, orm_id, **changes)
        ContentContainer.objects.bulk_create(
            [ContentContainer(**orm_row)],
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=columns,
        )
        writer.bulk_upsert(
            ContentContainer, [container_row(project, fast_id, **changes)], ["key"], columns
        )
        orm = model_to_dict(ContentContainer.objects.get(layers_id=orm_id), exclude=["id"])
        fast = model_to_dict(ContentContainer.objects.get(layers_id=fast_id), exclude=["id"])
        for row in (orm, fast):
            row["layers_id"] = row["key"] = ""
            row["raw"]["id"] = ""
        assert fast == orm


def test_writer_refuses_models_whose_fields_need_pre_save():
    from creatives.models import OverrideAudit

    with pytest.raises(writer.WriterRefused, match="created_at"):
        writer.writer_for(OverrideAudit, ("id",), ("note",))  # auto_now_add
