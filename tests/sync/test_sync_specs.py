"""The sync's declarative specs: columns derived from the mappers, and a changed mapper
re-applied from stored payloads at no API cost (sync/services/specs.py)."""

from __future__ import annotations

import dataclasses

import pytest
from django.db import connection, models

from creatives.mapping import container_fields_from_api
from creatives.models import ContentContainer
from layersadmin.layers import payload as p
from projects.models import Project
from sync.services import content_step, layers_sync
from sync.services.specs import SPECS, MirrorSpec, mapper_version
from tests.conftest import make_client


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.kind)
def test_columns_are_the_mappers_output_and_real_fields(spec: MirrorSpec):
    fields = {f.name for f in spec.model._meta.get_fields()}
    mapped = set(spec.mapper({})) - {"key"}
    assert set(spec.mapped) == mapped  # nothing listed by hand beside the mapper
    assert set(spec.columns) <= fields
    assert set(spec.linked) <= set(spec.columns)


def test_the_mapping_version_follows_the_mappers_source():
    def shouting(data):
        fields = container_fields_from_api(data)
        fields["caption"] = fields["caption"].upper()
        return fields

    assert mapper_version(shouting) != mapper_version(container_fields_from_api)
    assert mapper_version(container_fields_from_api) == mapper_version(container_fields_from_api)


def _replace_containers_mapper(monkeypatch, mapper) -> MirrorSpec:
    spec = dataclasses.replace(content_step.CONTAINERS, mapper=mapper)
    monkeypatch.setattr(content_step, "CONTAINERS", spec)
    return spec


@pytest.mark.django_db
def test_a_changed_mapper_reaches_every_stored_row_without_an_api_call(synced, monkeypatch):
    client = make_client(synced)
    project = Project.objects.filter(status="active").order_by("layers_id").first()
    layers_sync(client=client, project_ids=[project.layers_id])  # a no-change run
    calls = client.stats.calls
    layers_sync(client=client, project_ids=[project.layers_id])
    no_change_calls = client.stats.calls - calls

    def shouting(data):
        fields = container_fields_from_api(data)
        fields["caption"] = fields["caption"].upper()
        return fields

    spec = _replace_containers_mapper(monkeypatch, shouting)
    calls = client.stats.calls
    result = layers_sync(client=client, project_ids=[project.layers_id])
    assert result.ok and client.stats.calls - calls == no_change_calls  # no extra call
    rows = ContentContainer.objects.filter(project=project)
    assert rows.count() > 0 and not rows.exclude(mapping_version=spec.version).exists()
    # Every row, also those the incremental walk never read again (older than its window).
    assert all(row.caption == row.caption.upper() for row in rows)
    old = rows.filter(created_at__lt=project.content_watermark - p_days(30))
    assert old.exists()


def p_days(days: int):
    from datetime import timedelta

    return timedelta(days=days)


@pytest.mark.django_db(transaction=True)
def test_a_newcomer_adds_a_mirrored_field_and_the_next_sync_fills_it(layers, monkeypatch):
    """The way a newcomer adds a field: a model field, its migration (here the schema editor
    does what the migration would), one mapper line. No column list to update anywhere."""
    client = make_client(layers)
    assert layers_sync(client=client).ok

    field = models.URLField(max_length=1000, blank=True, default="")
    field.set_attributes_from_name("first_slide_url")
    ContentContainer.add_to_class("first_slide_url", field)
    with connection.schema_editor() as editor:
        editor.add_field(ContentContainer, field)
    try:

        def with_first_slide(data):
            fields = container_fields_from_api(data)
            fields["first_slide_url"] = (fields["image_urls"] or [""])[0]  # the one line
            return fields

        _replace_containers_mapper(monkeypatch, with_first_slide)
        result = layers_sync(client=client)
        assert result.ok, result.errors
        slides = ContentContainer.objects.exclude(image_urls=[])
        assert slides.exists()
        for row in slides.values("first_slide_url", "image_urls"):
            assert row["first_slide_url"] == row["image_urls"][0]
            assert p.url(row["first_slide_url"])
        # And the next run writes nothing more: the rows carry the new mapping version.
        again = layers_sync(client=client)
        assert again.ok and again.counts["containers"].written == 0
    finally:
        with connection.schema_editor() as editor:
            editor.remove_field(ContentContainer, field)
        ContentContainer._meta.local_fields.remove(field)
        delattr(ContentContainer, "first_slide_url")
        ContentContainer._meta._expire_cache()
