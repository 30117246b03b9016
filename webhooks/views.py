"""``POST /webhooks/layers/``: Layers' signed webhook deliveries.

No session, no login and no CSRF token: Layers is not a browser, and the HMAC signature is the
authentication (``webhooks.signature``). In order, cheapest first, each refusal a short plain
text that echoes nothing sent:

1. no secret configured: 503 (Layers retries a 5xx, so events sent before the secret is set
   are delivered once it is; a 404 would be dropped for good: C14 "4xx except 429 not
   retried");
2. over the rate limit (``LAYERS_WEBHOOK_RATE_LIMIT`` per client address, in the Django
   cache: Redis when CACHE_URL is one): 429 with Retry-After (Layers retries 429s);
3. a body over 1 MB: 413, decided from Content-Length before reading, and while reading
   (at most 1 MB + 1 byte is ever read);
4. the signature and its 5-minute window: 400;
5. JSON that does not parse, or is not an object: 400.

Then the delivery is recorded and its re-fetch queued (``webhooks.services``): 200, in
milliseconds, with no call to the Layers API.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.core import is_ratelimited

from webhooks import vocabulary as words
from webhooks.services import MAX_BODY, webhook_receive
from webhooks.signature import SignatureError, secrets_from_setting, signature_verify

logger = logging.getLogger(__name__)

RATE_GROUP = "webhooks.layers"


def _plain(text: str, status: int, **headers: str) -> HttpResponse:
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    for name, value in headers.items():
        response[name] = value
    return response


def _client_address(group: str, request: HttpRequest) -> str:
    # REMOTE_ADDR only: a forwarded-for header is the sender's to write. Behind a proxy every
    # delivery shares the proxy's address, and the limit is the endpoint's as a whole.
    return request.META.get("REMOTE_ADDR") or "unknown"


def _refuse(request: HttpRequest, reason: str, status: int, **headers: str) -> HttpResponse:
    logger.warning(
        "webhook delivery refused (%s): %s from %s",
        status,
        reason,
        request.META.get("REMOTE_ADDR", "?"),
    )
    return _plain(reason, status, **headers)


@csrf_exempt
@require_POST
def layers_webhook(request: HttpRequest) -> HttpResponse:
    secrets = secrets_from_setting(settings.LAYERS_WEBHOOK_SECRET)
    if not secrets:
        return _refuse(request, words.NOT_CONFIGURED, 503)
    if is_ratelimited(
        request,
        group=RATE_GROUP,
        key=_client_address,
        rate=settings.LAYERS_WEBHOOK_RATE_LIMIT,
        increment=True,
    ):
        return _refuse(request, words.TOO_MANY, 429, **{"Retry-After": "60"})
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _refuse(request, words.BAD_LENGTH, 400)
    if declared > MAX_BODY:
        return _refuse(request, words.TOO_LARGE, 413)
    body = request.read(MAX_BODY + 1)  # never more, whatever the stream holds
    if len(body) > MAX_BODY:
        return _refuse(request, words.TOO_LARGE, 413)
    try:
        signature_verify(
            header=request.headers.get("X-Layers-Signature"),
            body=body,
            secrets=secrets,
            now=time.time(),
        )
    except SignatureError as exc:
        return _refuse(request, str(exc), 400)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _refuse(request, words.BAD_JSON, 400)
    if not isinstance(payload, dict):
        return _refuse(request, words.NOT_AN_OBJECT, 400)
    receipt = webhook_receive(
        header_id=request.headers.get("X-Layers-Event-Id", ""), payload=payload, body=body
    )
    event = receipt.event
    logger.info(
        "webhook %s %s: %s%s",
        event.event_type or "(no type)",
        event.event_id,
        "already processed" if receipt.duplicate else event.status,
        ", task queued" if receipt.queued else "",
    )
    return _plain(words.ALREADY_DONE if receipt.duplicate else words.ACCEPTED, 200)
