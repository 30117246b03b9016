from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alert rules, notifications and people's alert settings: above ``sync``, which tells
    it about each project's sync and each run through signals (``sync.signals``) and never
    imports it."""

    name = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from alerts import receivers  # noqa: F401  (connects the sync's signals)
