"""The docs' own example payloads (tests/fixtures/, copied from the four seed pages) through
the mappers, the sync and the pages.

The seeds shorten ids with "..." and seed 000 gives one ``adc_…`` id to two rows, so nothing
here assumes an id is complete or unique. The one liberty taken: the seeds' examples describe
different creatives, so to check the joins, the scored creative's ``sourceId`` and
``adsContentId`` are set to the bare forms of seed 002's container id and seed 000's
``adc_`` id: exactly the mix of forms the seeds show (bare in ads-content, prefixed elsewhere).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from creatives.mapping import ads_content_fields_from_api, container_fields_from_api
from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot
from creatives.selectors import leaderboard_get
from layersadmin.layers import LayersClient
from layersadmin.layers.ids import id_key
from projects.mapping import project_fields_from_api
from projects.models import Project
from sync.services import layers_sync
from tests.conftest import grant
from tests.fixtures import load

PROJECT_ID = "prj_254a4ce1-f4ca-42b1-9e36-17ca45ef3d39"  # seed 000's request URL


# --- the mappers alone -----------------------------------------------------------------------


def test_seed002_container_maps_preview_and_caption():
    item = load("seed002_content_list")["items"][0]
    fields = container_fields_from_api(item)
    assert fields["layers_id"] == "cnt_7d18b9a1..."
    assert fields["key"] == "7d18b9a1..."  # compared without its prefix
    assert (fields["status"], fields["format"], fields["approval_status"]) == (
        "completed",
        "slideshow-builder",
        "pending",
    )
    assert fields["caption"] == "Your first 30 days of running."
    assert fields["thumbnail_url"] == "https://media.layers.com/.../slide-01.jpg"
    assert len(fields["image_urls"]) == 3 and fields["aspect_ratio"] == "9:16"
    assert fields["created_at"] == datetime(2026, 4, 17, 13, 10, tzinfo=UTC)


def test_seed001_row_maps_every_field_it_has_and_invents_none():
    row = load("seed001_ads_content_patch_response")
    fields = ads_content_fields_from_api(row)
    assert fields["layers_id"] == "01HXC9MNPQRSTUVWXYZAB12345"
    assert fields["key"] == "01hxc9mnpqrstuvwxyzab12345"
    assert (fields["override"], fields["override_note"]) == (
        "exclude",
        "Legal flagged background music",
    )
    assert fields["override_set_by"] == "lp_live_HHMRNJ2AHYJ6WZJ4 (api_key_id)"
    assert (fields["is_eligible"], fields["eligibility_reason"]) == (False, "excluded by override")
    assert (fields["organic_score"], fields["scoring_version"]) == (3.2, 3)
    assert fields["organic_performance"] is None and fields["active_promotions"] == []
    assert "title" not in fields  # derived for display, never mapped from a row without one


def test_seed003_customer_id_is_read_at_top_level_or_in_metadata_partner():
    body = load("seed003_project_create_request")
    top = project_fields_from_api({"id": PROJECT_ID, **body})
    assert top["customer_external_id"] == "acme-prod-987"
    nested = {k: v for k, v in body.items() if k != "customerExternalId"}
    nested["metadata"] = {"partner": {"customerExternalId": body["customerExternalId"]}}
    assert project_fields_from_api({"id": PROJECT_ID, **nested})["customer_external_id"] == (
        "acme-prod-987"
    )
    # A GET answering with the bare id (C13) names the same project.
    assert project_fields_from_api({"id": PROJECT_ID[4:]})["key"] == top["key"]


# --- through the sync and the pages -----------------------------------------------------------


class SeedApi:
    """A loopback server answering each route with the seeds' payloads."""

    def __init__(self, routes: dict[str, object]) -> None:
        self.routes = routes
        self.seen: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                outer.seen.append(self.path)
                answer = outer.routes.get(parts.path.removeprefix("/v1"))
                if callable(answer):
                    answer = answer(parse_qs(parts.query))
                status, body = (200, answer) if answer is not None else (404, _not_found())
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _not_found() -> dict:
    return {"error": {"code": "NOT_FOUND", "message": "Not found.", "requestId": "req_x"}}


@pytest.fixture
def seed_api(settings):
    content = load("seed002_content_list")
    container = content["items"][0]
    board = load("seed000_top_performers_roas")
    row = load("seed001_ads_content_patch_response")
    # The joins the seeds' forms make: bare sourceId to cnt_ id; bare adsContentId to adc_.
    row["sourceId"] = id_key(container["id"])
    row["adsContentId"] = id_key(board["items"][0]["adsContentId"])
    project = {
        "id": PROJECT_ID,
        "name": "Acme Fitness",
        "status": "active",
        **load("seed003_project_create_request"),
    }

    def content_page(query):
        if "cursor" in query:  # the seed's page names a next one: that one is empty
            return {"items": [], "nextCursor": None}
        return content

    def top_performers(query):
        metric = query["metric"][0]
        if metric in ("conversions",):
            return {**board, "metric": metric, "items": []}
        return {**board, "metric": metric}

    api = SeedApi(
        {
            "/whoami": {"rateLimitTier": "standard", "organizationId": "org_x"},
            "/projects": lambda q: {
                "items": [] if "status" in q else [project],  # none archived
                "nextCursor": None,
            },
            f"/projects/{PROJECT_ID}": project,
            f"/projects/{PROJECT_ID}/content": content_page,
            f"/projects/{PROJECT_ID}/ads-content": {"items": [row]},  # no nextCursor at all
            f"/projects/{PROJECT_ID}/top-performers": top_performers,
        }
    )
    settings.LAYERS_LEADERBOARDS = ["roas:30d", "conversions:30d"]
    yield api
    api.close()


@pytest.mark.django_db
def test_seed_payloads_sync_link_and_show(seed_api, client, django_user_model):
    layers = LayersClient(base_url=seed_api.base_url, api_key="lp_test_x", tier="unlimited")
    result = layers_sync(client=layers)
    assert result.ok, result.errors
    project = Project.objects.get()
    assert (project.layers_id, project.customer_external_id) == (PROJECT_ID, "acme-prod-987")
    container = ContentContainer.objects.get()
    creative = AdsContent.objects.get()
    # Linked to its container although the ids are written differently...
    assert creative.container == container
    # ...and titled from it (the row has no title), with the preview's thumbnail.
    assert creative.title == "Your first 30 days of running."
    assert creative.thumbnail_url == "https://media.layers.com/.../slide-01.jpg"
    # Seed 000 gives one adc_ id to both rows: both link to the one creative, none is lost.
    board = leaderboard_get(project=project, metric="roas", window="30d")
    assert [r.rank for r in board.rows] == [1, 2]
    assert all(r.linked and r.ads_content_id == creative.layers_id for r in board.rows)
    assert LeaderboardSnapshot.objects.filter(metric="conversions").exists()

    user = django_user_model.objects.create_user(username="lee")
    grant(user, "view_all_projects")
    client.force_login(user)
    page = client.get(reverse("creative_list", args=[PROJECT_ID])).content.decode()
    assert "Your first 30 days of running." in page and "(untitled)" not in page
    leaderboard = client.get(
        reverse("project_leaderboard", args=[PROJECT_ID]), {"metric": "roas", "window": "30d"}
    ).content.decode()
    assert reverse("creative_detail", args=[PROJECT_ID, creative.layers_id]) in leaderboard

    again = layers_sync(client=layers)
    assert again.ok and again.rows_written == 0
