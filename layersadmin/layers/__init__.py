"""The Layers Partner API client: the only code in layersadmin that speaks HTTP to Layers."""

from layersadmin.layers.client import (
    ApiResponse,
    LayersClient,
    Page,
    get_client,
    new_idempotency_key,
)
from layersadmin.layers.errors import (
    CustomerMismatch,
    LayersAPIError,
    LayersBusy,
    LayersError,
    LayersOutcomeUnknown,
    LayersProtocolError,
    LayersUnavailable,
)

__all__ = [
    "CustomerMismatch",
    "ApiResponse",
    "new_idempotency_key",
    "LayersAPIError",
    "LayersBusy",
    "LayersClient",
    "LayersError",
    "LayersOutcomeUnknown",
    "LayersProtocolError",
    "LayersUnavailable",
    "Page",
    "get_client",
]
