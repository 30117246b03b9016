from django.apps import AppConfig


class SyncConfig(AppConfig):
    """The sync, its run records, locks and background tasks: above ``projects`` and
    ``creatives``, which never import it."""

    name = "sync"
    verbose_name = "Sync"
