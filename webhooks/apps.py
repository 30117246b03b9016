from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Layers' webhook deliveries: verified, recorded once, turned into background re-fetches.
    Above ``sync`` (it queues sync's work); nothing imports it but the site's configuration."""

    name = "webhooks"
    verbose_name = "Layers webhooks"
