"""One exception family for everything that can go wrong talking to Layers.

Callers branch on ``code`` (the API's stable error code), never on the message text. Nothing
here ever holds the API key: messages are built from the API's envelope and our own words.
"""

from __future__ import annotations

import math
from typing import Any


class LayersError(Exception):
    """Base of every Layers client error."""

    code: str = "LAYERS_ERROR"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str = "",
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        self.status = status
        if code:
            self.code = code
        self.request_id = request_id or ""
        self.details = details or {}
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.code]
        if self.status:
            parts.append(f"(HTTP {self.status})")
        text = " ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, "
            f"request_id={self.request_id!r})"
        )


class LayersAPIError(LayersError):
    """The API answered and refused: an error envelope with a status, code and requestId."""


class LayersUnavailable(LayersError):
    """A read could not be completed: connection errors, timeouts or 5xx/429 past every retry."""

    code = "UNAVAILABLE"


class LayersOutcomeUnknown(LayersError):
    """A write was sent but no answer came back (timeout or dropped connection).

    The change may or may not have been applied. Retrying with the same Idempotency-Key is
    safe: the API applies it at most once.
    """

    code = "OUTCOME_UNKNOWN"


class LayersBusy(LayersError):
    """Layers (or our pacing of it) would make this call wait longer than its ``max_wait``.

    Raised before anything was sent, or after the API answered 429: nothing was changed.
    ``retry_after`` is the whole number of seconds (at least 1) after which a retry may go.
    A write of which an earlier attempt got no answer raises ``LayersOutcomeUnknown`` instead.
    """

    code = "BUSY"

    def __init__(
        self, retry_after: float, *, status: int | None = None, request_id: str = ""
    ) -> None:
        self.retry_after = max(1, math.ceil(retry_after))
        super().__init__(
            f"Layers is busy: nothing was changed, try again in {self.retry_after} s.",
            status=status,
            request_id=request_id,
        )


class LayersProtocolError(LayersError):
    """The API answered something we cannot use (not JSON, a cursor that repeats itself...)."""

    code = "PROTOCOL"


class CustomerMismatch(LayersError):
    """A write was refused locally: the project's customerExternalId changed upstream."""

    code = "CUSTOMER_MISMATCH"


class CustomerMissingUpstream(CustomerMismatch):
    """A write was refused locally: the project has no customerExternalId upstream any more,
    while layersadmin has one for it (seed 003's assertion cannot be made)."""

    code = "CUSTOMER_MISSING_UPSTREAM"
