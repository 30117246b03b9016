"""`manage.py demo`: run the product on the embedded defaults (used by `make demo`)."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run layersadmin on the embedded defaults at http://127.0.0.1:8000/."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, **options):
        call_command("runserver", options["addr"], use_reloader=False)
