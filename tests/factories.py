"""factory_boy factories for the synced models (payload-shaped where it matters)."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone as dj_timezone

from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot, ScoreSample
from projects.models import Project
from sync.models import SyncRun

BASE_TIME = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-12345-secret")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    layers_id = factory.Sequence(lambda n: f"prj_{n:08d}-0000-4000-8000-000000000000")
    name = factory.Sequence(lambda n: f"Customer {n}")
    customer_external_id = factory.Sequence(lambda n: f"cust-{n}")
    status = "active"
    timezone = "Europe/Berlin"
    primary_language = "en"
    synced_at = factory.LazyFunction(dj_timezone.now)
    last_sync_ok_at = factory.LazyFunction(dj_timezone.now)
    raw = factory.LazyAttribute(lambda o: {"id": o.layers_id, "name": o.name})


class ContentContainerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContentContainer

    project = factory.SubFactory(ProjectFactory)
    layers_id = factory.Sequence(lambda n: f"cnt_{n:08d}-0000-4000-8000-000000000000")
    status = "completed"
    format = "slideshow-builder"
    caption = factory.Sequence(lambda n: f"Caption number {n}")
    creative_type = "generated"
    ads_enrollment = "auto"
    approval_status = "approved"
    created_at = factory.Sequence(lambda n: BASE_TIME - dt.timedelta(minutes=n))
    completed_at = factory.LazyAttribute(lambda o: o.created_at + dt.timedelta(minutes=4))
    preview_kind = "slideshow"
    preview_url = "http://127.0.0.1:8001/media/x.svg"
    thumbnail_url = "http://127.0.0.1:8001/media/x.svg"
    image_urls = factory.LazyAttribute(lambda o: [o.preview_url, o.preview_url])
    aspect_ratio = "9:16"
    synced_at = factory.LazyFunction(dj_timezone.now)
    raw = factory.LazyAttribute(lambda o: {"id": o.layers_id})


class AdsContentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdsContent

    project = factory.SubFactory(ProjectFactory)
    layers_id = factory.Sequence(lambda n: f"{n:08d}-aaaa-4bbb-8ccc-000000000000")
    source_type = "content_container"
    source_id = ""
    title = factory.Sequence(lambda n: f"Creative {n}")
    scoring_pool = "generated"
    organic_score = 5.0
    scored_at = BASE_TIME
    scoring_version = 3
    is_eligible = factory.LazyAttribute(
        lambda o: o.override != "exclude" and (o.override == "include" or o.organic_score >= 4)
    )
    eligibility_reason = "score above threshold"
    override = ""
    synced_at = factory.LazyFunction(dj_timezone.now)
    raw = factory.LazyAttribute(lambda o: {"adsContentId": o.layers_id})


class ScoreSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScoreSample

    ads_content = factory.SubFactory(AdsContentFactory)
    score = 5.0
    scored_at = BASE_TIME
    observed_at = factory.LazyFunction(dj_timezone.now)


class LeaderboardSnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeaderboardSnapshot

    project = factory.SubFactory(ProjectFactory)
    metric = "views"
    window = "30d"
    fetched_at = factory.LazyFunction(dj_timezone.now)
    items = factory.LazyFunction(list)


class SyncRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncRun

    started_at = factory.LazyFunction(dj_timezone.now)
    status = SyncRun.Status.SUCCEEDED
