"""Small helpers shared by the sandbox modules: time, ids, hashing, cursors."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from datetime import UTC, datetime

DAY = 86_400
HOUR = 3_600

_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_PAIRS = [a + b for a in _CROCKFORD for b in _CROCKFORD]
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?)?$"
)


def iso(ts: float | int | None) -> str | None:
    """Epoch seconds -> ``2026-04-17T13:10:00Z`` (whole seconds, UTC)."""
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))


def parse_iso(value: str) -> int:
    """ISO-8601 -> epoch seconds. Accepts ``Z``/offsets, fractions, bare dates.

    A timestamp without any zone is read as UTC. Raises ``ValueError``.
    """
    m = _ISO_RE.match(value.strip())
    if not m:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}")
    year, month, day, hh, mm, ss, _frac, tz = m.groups()
    dt = datetime(
        int(year),
        int(month),
        int(day),
        int(hh or 0),
        int(mm or 0),
        int(ss or 0),
        tzinfo=UTC,
    )
    ts = int(dt.timestamp())
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        ts -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return ts


def day_index(ts: int) -> int:
    """Days since the epoch of the UTC day containing ``ts``."""
    return ts // DAY


def sub_seed(*parts: object) -> int:
    """A stable 64-bit seed derived from ``parts`` (independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def uuid_from(rng) -> str:
    """A version-4 shaped UUID string drawn from ``rng`` (deterministic)."""
    h = "%032x" % ((rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ulid_from(ts_ms: int, rand80: int) -> str:
    """26-char Crockford base32 ULID from a millisecond timestamp and 80 random bits."""
    value = ((ts_ms & ((1 << 48) - 1)) << 80) | (rand80 & ((1 << 80) - 1))
    pairs = _CROCKFORD_PAIRS
    return "".join([pairs[(value >> shift) & 1023] for shift in range(120, -1, -10)])


def new_request_id() -> str:
    """``req_<ULID>`` from wall-clock time and OS randomness (never deterministic)."""
    return "req_" + ulid_from(int(time.time() * 1000), int.from_bytes(os.urandom(10), "big"))


def api_key_from(seed: int, label: str) -> str:
    """``lp_test_<16 base32 chars>_<43 base64url chars>``, derived from (seed, label)."""
    d1 = hashlib.sha256(f"key-id:{seed}:{label}".encode()).digest()
    key_id = "".join(_B32[b & 31] for b in d1[:16])
    d2 = hashlib.sha256(f"key-secret:{seed}:{label}".encode()).digest()
    secret = base64.urlsafe_b64encode(d2).decode().rstrip("=")
    return f"lp_test_{key_id}_{secret}"


_KEY_RE = re.compile(r"^(lp_(?:test|live)_[A-Za-z0-9]{16})_")


def key_prefix(key: str) -> str:
    """The displayable prefix of a key: ``lp_test_<16 chars>`` (first 24 chars otherwise)."""
    m = _KEY_RE.match(key)
    return m.group(1) if m else key[:24]


def b64url_encode_json(obj: object) -> str:
    raw = json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def b64url_decode_json(token: str) -> object:
    """Inverse of :func:`b64url_encode_json`; raises ``ValueError`` on any garbage."""
    if not token or len(token) > 2048 or not re.fullmatch(r"[A-Za-z0-9_-]+", token):
        raise ValueError("bad cursor")
    padded = token + "=" * (-len(token) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:  # binascii.Error, UnicodeDecodeError, JSONDecodeError
        raise ValueError("bad cursor") from exc


def canonical_json(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=True)


def hash_unit(*parts: int) -> float:
    """Cheap deterministic hash of small ints -> float in [0, 1)."""
    h = 0x811C9DC5
    for p in parts:
        h = ((h ^ (p & 0xFFFFFFFF)) * 0x01000193) & 0xFFFFFFFF
        h ^= h >> 15
        h = (h * 0x2C1B3C6D) & 0xFFFFFFFF
        h ^= h >> 12
        h = (h * 0x297A2D39) & 0xFFFFFFFF
        h ^= h >> 15
    return h / 4294967296.0
