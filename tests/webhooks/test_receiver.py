"""``POST /webhooks/layers/``: the signature and its window, rotation, refusals (size, JSON,
rate, configuration), replays, and that a delivery only records and queues (no API call)."""

from __future__ import annotations

import io
import json
import logging
import statistics
import time

import pytest
from django.test import Client, RequestFactory
from django_tasks_db.models import DBTaskResult

from layersadmin.layers import LayersClient
from sync.models import TaskRecord
from tests.webhooks.conftest import CONTAINER, OTHER, PROJECT, SECRET, URL, deliver, event
from webhooks import vocabulary as words
from webhooks.models import PendingRefetch, WebhookEvent
from webhooks.services import MAX_BODY
from webhooks.signature import signature_make
from webhooks.views import layers_webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_api(monkeypatch):
    """A delivery never calls the Layers API: any call fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("the webhook request called the Layers API")

    monkeypatch.setattr(LayersClient, "request", refuse)


def text(response) -> str:
    return response.content.decode()


# --- the signature ---------------------------------------------------------------------------


def test_a_good_signature_is_accepted_recorded_and_queued(client, secret):
    response = deliver(client, event())
    assert response.status_code == 200, text(response)
    assert text(response).strip() == words.ACCEPTED
    assert response["Content-Type"].startswith("text/plain")
    recorded = WebhookEvent.objects.get()
    assert (recorded.event_id, recorded.event_type, recorded.status) == (
        "evt_01J0000000000000000000000A",
        "content.generated",
        "received",
    )
    assert (recorded.project_id, recorded.container_id) == (PROJECT, CONTAINER)
    assert (recorded.refetch_kind, recorded.refetch_key) == ("project", PROJECT[4:])
    pending = PendingRefetch.objects.get()
    assert (pending.kind, pending.target_id, pending.state) == ("project", PROJECT, "pending")
    task = DBTaskResult.objects.get()
    assert task.task_path == "webhooks.tasks.webhook_refetch_task"
    assert task.status == "READY"
    assert task.args_kwargs["kwargs"] == {"kind": "project", "target_key": PROJECT[4:]}
    assert pending.task_id == str(task.id)
    record = TaskRecord.objects.get()
    assert (record.kind, record.user, record.project_ids) == ("project_refetch", None, [PROJECT])


@pytest.mark.parametrize(
    "signature, reason",
    [
        ("", words.NO_SIGNATURE),
        ("t=1700000000", words.BAD_SIGNATURE_HEADER),
        ("v1=" + "a" * 64, words.BAD_SIGNATURE_HEADER),
        ("t=soon,v1=" + "a" * 64, words.BAD_SIGNATURE_HEADER),
        ("t=1,t=2,v1=" + "a" * 64, words.BAD_SIGNATURE_HEADER),
        ("t={now},v1=nothex", words.BAD_SIGNATURE_HEADER),
        ("t={now},v1=" + "a" * 64, words.SIGNATURE_MISMATCH),
        ("t={now},v0={good}", words.BAD_SIGNATURE_HEADER),  # an unknown scheme is no v1
        ("t=" + "9" * 5000, words.BAD_SIGNATURE_HEADER),
    ],
)
def test_a_bad_signature_is_400_with_a_short_reason(client, secret, signature, reason):
    body = json.dumps(event()).encode()
    now = int(time.time())
    good = signature_make(secret=SECRET, timestamp=now, body=body)
    response = deliver(client, body, signature=signature.format(now=now, good=good))
    assert response.status_code == 400
    assert text(response).strip() == reason
    assert SECRET not in text(response) and good not in text(response)
    assert not WebhookEvent.objects.exists() and not DBTaskResult.objects.exists()


def test_a_signature_with_another_secret_or_over_another_body_is_refused(client, secret):
    assert deliver(client, event(), secrets=(OTHER,)).status_code == 400
    body = json.dumps(event()).encode()
    t = int(time.time())
    signed_other_body = f"t={t},v1={signature_make(secret=SECRET, timestamp=t, body=body + b' ')}"
    response = deliver(client, body, signature=signed_other_body)
    assert response.status_code == 400 and text(response).strip() == words.SIGNATURE_MISMATCH
    # The timestamp is signed too: the same v1 under another t does not verify.
    moved = f"t={t + 1},v1={signature_make(secret=SECRET, timestamp=t, body=body)}"
    assert deliver(client, body, signature=moved).status_code == 400


@pytest.mark.parametrize(
    "offset, status, reason",
    [
        (-301, 400, words.TOO_OLD),
        (-3600, 400, words.TOO_OLD),
        (301, 400, words.TOO_NEW),
        (-290, 200, words.ACCEPTED),
        (290, 200, words.ACCEPTED),
    ],
)
def test_the_timestamp_must_be_within_5_minutes_either_way(client, secret, offset, status, reason):
    response = deliver(client, event(), timestamp=int(time.time()) + offset)
    assert response.status_code == status
    assert text(response).strip() == reason


def test_during_a_rotation_either_secret_verifies(client, settings):
    settings.LAYERS_WEBHOOK_SECRET = f" {OTHER} , {SECRET} "
    assert deliver(client, event(event_id="evt_A"), secrets=(SECRET,)).status_code == 200
    assert deliver(client, event(event_id="evt_B"), secrets=(OTHER,)).status_code == 200
    assert deliver(client, event(event_id="evt_C"), secrets=("third",)).status_code == 400


def test_several_v1_values_any_one_of_which_matches(client, secret):
    """Layers signs with the old and the new secret during its 24 h rotation overlap."""
    response = deliver(client, event(), secrets=("retired-secret", SECRET, "next-secret"))
    assert response.status_code == 200
    body = json.dumps(event(event_id="evt_D")).encode()
    t = int(time.time())
    good = signature_make(secret=SECRET, timestamp=t, body=body)
    header = f" t={t} , v0=ignored, v1={'b' * 64}, V1={good.upper()} "
    assert deliver(client, body, signature=header, event_id="evt_D").status_code == 200


# --- refusals before the signature -----------------------------------------------------------


def test_without_a_secret_the_endpoint_says_it_is_not_configured(client, settings):
    settings.LAYERS_WEBHOOK_SECRET = " , "
    response = deliver(client, event())
    assert response.status_code == 503
    assert text(response).strip() == words.NOT_CONFIGURED
    assert not WebhookEvent.objects.exists()


def test_an_oversize_body_is_413(client, secret):
    payload = event()
    payload["data"]["caption"] = "x" * MAX_BODY
    response = deliver(client, payload)
    assert response.status_code == 413 and text(response).strip() == words.TOO_LARGE
    just_fits = event()
    filler = MAX_BODY - len(json.dumps(just_fits).encode()) - len(', "pad": ""')
    just_fits["pad"] = "y" * filler
    assert len(json.dumps(just_fits).encode()) == MAX_BODY
    assert deliver(client, just_fits).status_code == 200
    just_fits["pad"] += "y"  # one byte over
    assert deliver(client, just_fits, event_id="evt_OVER").status_code == 413


class Untouchable(io.RawIOBase):
    """A request stream that fails the test if it is read."""

    def read(self, *args):
        raise AssertionError("an oversize body was read")

    readinto = readline = read


def test_an_oversize_body_is_refused_before_it_is_read(secret):
    request = RequestFactory().generic("POST", URL, b"", content_type="application/json")
    request.META["CONTENT_LENGTH"] = str(MAX_BODY + 1)
    request.META["wsgi.input"] = Untouchable()
    request._stream = Untouchable()
    response = layers_webhook(request)
    assert response.status_code == 413


def test_a_stream_longer_than_it_declared_is_read_only_up_to_the_limit(secret):
    """Whatever the stream holds, at most 1 MB + 1 byte is read."""
    big = io.BytesIO(b"{" * (5 * MAX_BODY))
    request = RequestFactory().generic("POST", URL, b"", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "0"
    request._stream = big
    response = layers_webhook(request)
    assert response.status_code == 413
    assert big.tell() == MAX_BODY + 1


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"{not json", words.BAD_JSON),
        (b"\xff\xfe\x00", words.BAD_JSON),
        (b"", words.BAD_JSON),
        (b"[1, 2]", words.NOT_AN_OBJECT),
        (b'"evt"', words.NOT_AN_OBJECT),
        (b"[" * 100_000 + b"]" * 100_000, words.BAD_JSON),  # deep nesting: no RecursionError 500
    ],
)
def test_malformed_json_is_400(client, secret, body, reason):
    response = deliver(client, body)
    assert response.status_code == 400
    assert text(response).strip() == reason


def test_a_bad_content_length_is_400(secret):
    request = RequestFactory().generic("POST", URL, b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "lots"
    assert layers_webhook(request).status_code == 400


def test_get_is_405_and_no_csrf_token_or_login_is_needed(secret):
    client = Client(enforce_csrf_checks=True)  # no session, no token: as Layers calls it
    assert client.get(URL).status_code == 405
    assert deliver(client, event()).status_code == 200


def test_the_rate_limit_answers_429_with_retry_after(client, secret, settings):
    settings.LAYERS_WEBHOOK_RATE_LIMIT = "5/m"
    answers = [deliver(client, event(event_id=f"evt_{i}")).status_code for i in range(5)]
    assert answers == [200] * 5
    refused = deliver(client, event(event_id="evt_6"))
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert text(refused).strip() == words.TOO_MANY
    # Unsigned junk counts too (the limit comes before the HMAC), and another address has
    # its own budget.
    assert deliver(client, b"junk", signature="t=1,v1=x").status_code == 429
    other = deliver(client, event(event_id="evt_7"), REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 200
    assert WebhookEvent.objects.count() == 6


# --- replays -----------------------------------------------------------------------------------


def test_a_replay_of_a_processed_event_is_200_without_acting(client, secret):
    assert deliver(client, event()).status_code == 200
    WebhookEvent.objects.update(status="processed")
    PendingRefetch.objects.all().delete()
    tasks = DBTaskResult.objects.count()

    response = deliver(client, event())  # Layers' retry: same id, new timestamp
    assert response.status_code == 200 and text(response).strip() == words.ALREADY_DONE
    recorded = WebhookEvent.objects.get()
    assert recorded.status == "processed" and recorded.deliveries == 2
    assert not PendingRefetch.objects.exists() and DBTaskResult.objects.count() == tasks


@pytest.mark.parametrize("status", ["failed", "received"])
def test_a_replay_of_a_failed_or_unfinished_event_is_processed_again(client, secret, status):
    assert deliver(client, event()).status_code == 200
    WebhookEvent.objects.update(status=status, error="boom")
    PendingRefetch.objects.all().delete()  # (a failed task deletes its row)
    tasks = DBTaskResult.objects.count()

    response = deliver(client, event())
    assert response.status_code == 200 and text(response).strip() == words.ACCEPTED
    recorded = WebhookEvent.objects.get()
    assert (recorded.status, recorded.error, recorded.deliveries) == ("received", "", 2)
    assert PendingRefetch.objects.count() == 1
    assert DBTaskResult.objects.count() == tasks + 1


@pytest.mark.parametrize("where", ["data", "top"])
def test_a_deliberate_replay_counts_as_its_original_event(client, secret, where):
    """C15: the replay names the original in data.replayOf or a top-level replayOf."""
    original = "evt_01J00000000000000000000ORIG"
    assert deliver(client, event(event_id=original), event_id=original).status_code == 200
    WebhookEvent.objects.update(status="processed")
    replay = event(event_id="evt_01J0000000000000000000REPLAY")
    if where == "data":
        replay["data"]["replayOf"] = original
    else:
        replay["replayOf"] = original
    response = deliver(client, replay, event_id="evt_01J0000000000000000000REPLAY")
    assert text(response).strip() == words.ALREADY_DONE
    recorded = WebhookEvent.objects.get()
    assert recorded.event_id == original and recorded.deliveries == 2
    assert recorded.last_delivery_id == "evt_01J0000000000000000000REPLAY"

    WebhookEvent.objects.update(status="failed")
    response = deliver(client, replay, event_id="evt_01J0000000000000000000REPLAY")
    assert text(response).strip() == words.ACCEPTED
    assert WebhookEvent.objects.get().status == "received"


def test_without_an_event_id_the_body_identifies_the_event(client, secret):
    """No X-Layers-Event-Id and no id in the payload: still acted on, once (a retry sends the
    same body)."""
    payload = event()
    del payload["id"]
    assert deliver(client, payload, event_id=None).status_code == 200
    recorded = WebhookEvent.objects.get()
    assert recorded.event_id.startswith("sha256:") and recorded.status == "received"
    WebhookEvent.objects.update(status="processed")
    again = deliver(client, payload, event_id=None)
    assert text(again).strip() == words.ALREADY_DONE
    # The payload's own id stands in for a missing header.
    assert deliver(client, event(event_id="evt_FROMBODY"), event_id=None).status_code == 200
    assert WebhookEvent.objects.filter(event_id="evt_FROMBODY").exists()


def test_a_malformed_event_id_header_falls_back_to_the_payload(client, secret):
    response = deliver(client, event(event_id="evt_GOOD"), event_id="evt bad\x7f" + "x" * 80)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_id == "evt_GOOD"


# --- events we do not act on ------------------------------------------------------------------


def test_an_event_type_we_do_not_mirror_is_recorded_and_ignored(client, secret):
    assert deliver(client, event("test.ping", data={})).status_code == 200
    assert deliver(client, event("social_account.revoked", event_id="evt_S")).status_code == 200
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"ignored"}
    assert not PendingRefetch.objects.exists() and not DBTaskResult.objects.exists()
    assert text(deliver(client, event("test.ping", data={}))).strip() == words.ALREADY_DONE


def test_a_content_event_without_any_id_is_recorded_failed_not_retried(client, secret):
    response = deliver(client, event(data={"caption": "no ids"}))
    assert response.status_code == 200
    recorded = WebhookEvent.objects.get()
    assert recorded.status == "failed" and "No container or project id" in recorded.error
    assert not PendingRefetch.objects.exists()


# --- secrets and timing ---------------------------------------------------------------------------


def test_the_secret_is_never_logged_or_answered(client, secret, caplog):
    caplog.set_level(logging.DEBUG)
    answers = [
        deliver(client, event()),
        deliver(client, event(), secrets=(OTHER,)),
        deliver(client, event(), timestamp=1),
        deliver(client, b"{"),
    ]
    said = "".join(text(a) for a in answers) + caplog.text
    assert SECRET not in said and SECRET[-16:] not in said
    assert "webhook delivery refused (400)" in caplog.text


def test_a_delivery_answers_in_milliseconds(client, secret):
    """Record, decide, queue: no API call (the autouse fixture fails any). The bound is loose
    for a busy CI machine; the median is the figure README quotes."""
    durations = []
    for i in range(30):
        payload = event(event_id=f"evt_T{i}", data={"id": f"cnt_{i:032x}", "projectId": PROJECT})
        started = time.perf_counter()
        response = deliver(client, payload, event_id=f"evt_T{i}")
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200
    median = statistics.median(durations)
    print(f"webhook delivery: median {median * 1000:.1f} ms, max {max(durations) * 1000:.1f} ms")
    assert median < 0.25


def test_the_rate_limit_is_shared_through_redis_when_the_cache_is_redis(client, secret, settings):
    """With CACHE_URL a Redis, every process counts in one place: two clients (two web
    processes' worth) share the budget. Skipped locally without Redis; CI has one."""
    import os
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/1"
    server = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        server.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis unreachable in CI: {exc}")
        pytest.skip(f"Redis unreachable ({exc}); CI runs this test")
    prefix = f"webhook-test-{uuid.uuid4().hex}"  # never another run's counters
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    settings.LAYERS_WEBHOOK_RATE_LIMIT = "3/m"
    other_process = Client()
    answers = [
        deliver(c, event(event_id=f"evt_R{i}")).status_code
        for i, c in enumerate([client, other_process, client, other_process])
    ]
    assert answers == [200, 200, 200, 429]
    counters = server.keys(f"{prefix}:*")
    assert counters, "the counter is not in Redis"
    server.delete(*counters)
