"""Layers' webhook signature (REFERENCE 6 "Webhooks"), verified and, for the sandbox's and the
tests' side, made.

``X-Layers-Signature: t=<unix seconds>,v1=<hex>``, the hex an HMAC-SHA256 with the endpoint's
secret over ``"<t>.<raw body>"``. While a secret is rotated Layers signs with both for 24 h
and sends several ``v1=``; we may hold two secrets as well (``LAYERS_WEBHOOK_SECRET=old,new``).
A delivery is genuine when any of our secrets made any of its ``v1`` values. Every pair is
compared in constant time (``hmac.compare_digest``), all of them, so how long the check takes
says nothing about which part matched. A timestamp more than 5 minutes from our clock, either
way, is refused: a captured delivery cannot be replayed later.

Pure functions: no settings, no ORM. The reasons are fixed strings (``webhooks.vocabulary``):
a refusal never echoes the header, the body or a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

from webhooks import vocabulary as words

TOLERANCE_SECONDS = 5 * 60
# A header longer than this is not a signature (a few v1 values at 64 hex characters each).
MAX_HEADER = 2048
_HEX = re.compile(r"[0-9a-fA-F]{64}")
_UNIX = re.compile(r"[0-9]{1,12}")


class SignatureError(ValueError):
    """The delivery is refused; ``str(error)`` is the short reason it is answered with."""


def signature_make(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with ``secret``."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(*, secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """An ``X-Layers-Signature`` value: one ``v1=`` per secret (several during a rotation)."""
    values = [signature_make(secret=s, timestamp=timestamp, body=body) for s in secrets]
    return ",".join([f"t={int(timestamp)}", *(f"v1={v}" for v in values)])


def signature_parse(header: str) -> tuple[int, list[str]]:
    """``(t, [v1, ...])`` from the header. Unknown schemes (``v0=``, a future ``v2=``) are
    skipped; a missing or repeated ``t``, or no well-formed ``v1``, is malformed."""
    if len(header) > MAX_HEADER:
        raise SignatureError(words.BAD_SIGNATURE_HEADER)
    timestamp: int | None = None
    values: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        name, value = name.strip().lower(), value.strip()
        if not sep:
            continue
        if name == "t":
            if timestamp is not None or not _UNIX.fullmatch(value):
                raise SignatureError(words.BAD_SIGNATURE_HEADER)
            timestamp = int(value)
        elif name == "v1" and _HEX.fullmatch(value):
            values.append(value.lower())
    if timestamp is None or not values:
        raise SignatureError(words.BAD_SIGNATURE_HEADER)
    return timestamp, values


def signature_verify(
    *,
    header: str | None,
    body: bytes,
    secrets: Iterable[str],
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> int:
    """Check a delivery; returns its timestamp, or raises ``SignatureError`` with the reason.

    The signature is checked before the clock, so only a genuine delivery is told that its
    timestamp is off (a forger learns nothing but "does not match")."""
    if not header:
        raise SignatureError(words.NO_SIGNATURE)
    timestamp, values = signature_parse(header)
    expected = [signature_make(secret=s, timestamp=timestamp, body=body) for s in secrets if s]
    matched = False
    for mine in expected:
        for theirs in values:
            # No short-circuit: every pair is compared.
            matched |= hmac.compare_digest(mine, theirs)
    if not matched:
        raise SignatureError(words.SIGNATURE_MISMATCH)
    if timestamp < now - tolerance:
        raise SignatureError(words.TOO_OLD)
    if timestamp > now + tolerance:
        raise SignatureError(words.TOO_NEW)
    return timestamp


def secrets_from_setting(value: str) -> list[str]:
    """``LAYERS_WEBHOOK_SECRET``: one secret, or several comma-separated during a rotation."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
