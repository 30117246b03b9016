"""Helpers that turn untrusted API values into values our database accepts.

The API may send anything: unknown enum values (stored as they are), nulls where values were
expected, huge strings, NUL bytes (PostgreSQL refuses them in text and jsonb). These helpers
never raise; they return a safe value or a default.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any


def clean(value: Any) -> Any:
    """A JSON value with NUL characters removed from every string (for JSONField storage)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {clean(str(k)): clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def text(value: Any, max_length: int | None = None) -> str:
    """A string for a CharField/TextField: '' for null, NULs removed, cut to ``max_length``."""
    if value is None or isinstance(value, dict | list):
        return ""
    result = str(value).replace("\x00", "")
    return result[:max_length] if max_length else result


def url(value: Any, max_length: int = 1000) -> str:
    """Only http(s) URLs survive: anything else (javascript:, data:, garbage) becomes ''."""
    result = text(value, max_length=None)
    if not result.lower().startswith(("http://", "https://")) or len(result) > max_length:
        return ""
    return result


def number(value: Any, default: float | None = 0.0) -> float | None:
    if isinstance(value, bool):
        return default
    try:
        result = float(value)
    except (TypeError, ValueError):
        return default
    return result if math.isfinite(result) else default


def integer(value: Any, default: int | None = None) -> int | None:
    result = number(value, default=None)
    if result is None:
        return default
    if abs(result) > 2**31 - 1:
        return default
    return int(result)


def boolean(value: Any, default: bool = False) -> bool:
    return value if isinstance(value, bool) else default


def timestamp(value: Any) -> datetime | None:
    """An aware datetime from ISO-8601 (Z or offset; seconds, ms or µs); None if unparseable."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    candidate = value.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def iso(value: datetime) -> str:
    """Our timestamps as the API wants them: ISO 8601, UTC, Z."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def str_list(value: Any, max_items: int = 50) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text(v, 1000) for v in value[:max_items] if isinstance(v, str)]
