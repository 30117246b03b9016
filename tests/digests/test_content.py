"""What a digest says: rules grouped, a few rows each, absolute links and thumbnails, the
timezone named, hostile API text escaped, a text and an HTML part, nothing secret."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re

import pytest
from django.core import mail

from alerts import vocabulary as av
from digests import vocabulary as v
from digests.selectors import thumbnail_url
from digests.services import digests_send
from tests.digests.helpers import at, person, raised
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 3)
LATER = at("2026-11-05 07:00")
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://admin.example.com"
    settings.LAYERS_API_KEY = "lp_live_SECRETSECRETSECRET"
    settings.EMAIL_HOST_PASSWORD = "smtp-secret-password"


def the_mail(user=None):
    digests_send(frequency=v.DIGEST_DAILY, day=DAY, now=LATER)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    (html_part, mimetype), *_ = message.alternatives
    assert mimetype == "text/html"
    return message, message.body, html_part


@pytest.fixture
def maria():
    return person("maria")


@pytest.fixture
def bluebird(maria):
    project = ProjectFactory(name="Bluebird Fitness", timezone="America/Denver")
    project.account_managers.add(maria)
    return project


def test_rules_grouped_in_the_vocabularys_order_with_a_few_rows_each(maria, bluebird):
    for n in range(7):
        raised(bluebird, at(f"2026-11-03 1{n}:00"), to=[maria], title=f"Low {n}")
    raised(bluebird, at("2026-11-03 09:00"), to=[maria], rule=av.EXCLUDED_HIGH, title="High")
    raised(bluebird, at("2026-11-03 08:00"), to=[maria], rule=av.SYNC_FAILING)
    message, text, page = the_mail()
    assert message.subject == "layersadmin daily digest: 9 new alerts, Tue 3 Nov 2026"
    labels = [av.RULE_LABELS[r] for r in (av.INCLUDED_LOW, av.EXCLUDED_HIGH, av.SYNC_FAILING)]
    positions = [text.index(f"== {label}") for label in labels]
    assert positions == sorted(positions)
    assert "== Included but scoring under 4.0 (7) ==" in text
    # Newest first, five shown, the other two counted and linked to exactly the seven.
    shown = [n for n in range(7) if f"Low {n}" in text]
    assert shown == [2, 3, 4, 5, 6]
    assert "…and 2 more: open all 7 in the decision table: " in text
    more = re.search(r"open all 7 in the decision table: (\S+)", text).group(1)
    assert more.startswith(
        f"https://admin.example.com/projects/{bluebird.layers_id}/creatives/?ids="
    )
    assert len(more.split("ids=")[1].split("%2C")) == 7
    assert "and 2 more" in page and html_lib.escape(more) in page


def test_links_are_absolute_and_thumbnails_too(maria, bluebird, settings):
    settings.LAYERS_API_BASE_URL = "https://api.layers.example/v1"
    alert = raised(bluebird, at("2026-11-03 10:00"), to=[maria], thumbnail="/media/t.jpg")
    raised(bluebird, at("2026-11-03 11:00"), to=[maria], rule=av.SYNC_FAILING)
    _, text, page = the_mail()
    hrefs = re.findall(r'href="([^"]+)"', page)
    assert hrefs and all(h.startswith("https://admin.example.com/") for h in hrefs), hrefs
    creative = alert.ads_content.layers_id
    assert f"https://admin.example.com/projects/{bluebird.layers_id}/creatives/?ids={creative}" in (
        text
    )
    assert f"https://admin.example.com/projects/{bluebird.layers_id}/" in text  # project rule
    assert "https://admin.example.com/settings/alerts/" in text
    assert "https://admin.example.com/notifications/" in text
    srcs = re.findall(r'<img src="([^"]+)"', page)
    # A path from the API is the API's own: made absolute on its origin.
    assert srcs == ["https://api.layers.example/media/t.jpg"]  # none for the project rule


def test_thumbnails_only_http():
    assert thumbnail_url("javascript:alert(1)") == ""
    assert thumbnail_url("data:image/svg+xml,<svg onload=alert(1)>") == ""
    assert thumbnail_url("//evil.example.com/x.png") == ""
    assert thumbnail_url("https://cdn.example.com/a.jpg") == "https://cdn.example.com/a.jpg"
    assert thumbnail_url("https://cdn.example.com/a.jpg\r\nBcc: x") == ""


def test_times_in_the_projects_timezone_named(maria, bluebird):
    raised(bluebird, at("2026-11-03 10:00"), to=[maria])
    _, text, page = the_mail()
    assert "Times in America/Denver, the project's timezone." in text
    assert "raised Tue 3 Nov, 03:00 MST" in text  # 10:00 UTC
    assert "midnight to midnight UTC" in text  # the day itself: no zone of her own
    assert "Times in America/Denver, the project&#x27;s timezone." in page


def test_times_in_the_persons_timezone_when_set(maria, bluebird):
    maria.alert_preference.timezone = "Europe/Paris"
    maria.alert_preference.save()
    raised(bluebird, at("2026-11-03 10:00"), to=[maria])
    _, text, _ = the_mail()
    assert "Times in Europe/Paris, your timezone." in text
    assert "The day runs midnight to midnight in Europe/Paris, your timezone." in text
    assert "raised Tue 3 Nov, 11:00 CET" in text


def test_several_project_zones_each_named(maria, bluebird):
    tokyo = ProjectFactory(name="Tokyo Tea", timezone="Asia/Tokyo")
    tokyo.account_managers.add(maria)
    raised(bluebird, at("2026-11-03 10:00"), to=[maria])
    raised(tokyo, at("2026-11-03 10:00"), to=[maria])
    _, text, _ = the_mail()
    assert (
        "Times in each project's timezone: Bluebird Fitness: America/Denver; "
        "Tokyo Tea: Asia/Tokyo." in text
    )
    assert "19:00 JST" in text and "03:00 MST" in text


def test_hostile_api_text_is_escaped_in_html_and_flat_in_text(maria):
    project = ProjectFactory(name=f"Evil {HOSTILE}", timezone="UTC")
    project.account_managers.add(maria)
    raised(project, at("2026-11-03 10:00"), to=[maria], title=f"{HOSTILE}\n* forged row")
    _, text, page = the_mail()
    assert "<script>" not in page and "onerror=alert(1)>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert f"* {HOSTILE} * forged row · Evil {HOSTILE}" in text  # one line: no forged row
    assert "\n* forged row" not in text


def test_cleared_alerts_say_when(maria, bluebird):
    raised(
        bluebird,
        at("2026-11-03 10:00"),
        to=[maria],
        cleared_at=at("2026-11-03 12:30"),
        title="Came back",
    )
    _, text, _ = the_mail()
    assert "raised Tue 3 Nov, 03:00 MST, cleared Tue 3 Nov, 05:30 MST" in text


def test_a_text_and_an_html_part_and_nothing_secret(maria, bluebird):
    raised(bluebird, at("2026-11-03 10:00"), to=[maria])
    message, text, page = the_mail()
    assert message.to == ["maria@example.com"]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    raw = message.message().as_string()
    assert "text/plain" in raw and "text/html" in raw
    for secret in ("lp_live_SECRET", "smtp-secret-password", "pw-12345-secret"):
        assert secret not in raw
    assert "Bluebird Fitness" in text and "Bluebird Fitness" in page
