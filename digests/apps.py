from django.apps import AppConfig


class DigestsConfig(AppConfig):
    """Digest e-mails of the alerts (``manage.py send_digests``): above ``alerts``, whose
    notifications and settings it reads; nothing imports it but the site's configuration."""

    name = "digests"
    verbose_name = "Digests"

    def ready(self) -> None:
        from digests import checks  # noqa: F401  (registers the site address check)
