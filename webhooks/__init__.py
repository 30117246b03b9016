"""Layers webhooks: the signed receiver at ``POST /webhooks/layers/`` and what it queues."""
