"""`manage.py webhooks_trim`: forget webhook event ids older than 7 days, and queue again any
pending re-fetch whose task was lost. The tasks trim by themselves at most once an hour; this
is for a quiet endpoint, from cron (README "Webhooks")."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from webhooks.services import KEEP_DAYS, pending_refetch_recover, webhook_events_trim


class Command(BaseCommand):
    help = "Delete webhook events last delivered over N days ago (N >= 7); re-queue lost work."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=KEEP_DAYS,
            help=f"Keep this many days (at least {KEEP_DAYS}: Layers retries for ~32 h).",
        )

    def handle(self, *args, days: int, **options):
        if days < KEEP_DAYS:
            raise CommandError(
                f"--days {days}: event ids are kept at least {KEEP_DAYS} days, or a late retry "
                "of an event would be acted on twice."
            )
        deleted = webhook_events_trim(days=days)
        requeued = pending_refetch_recover()
        self.stdout.write(
            f"Deleted {deleted} webhook event(s) older than {days} days; "
            f"re-queued {requeued} stale re-fetch(es)."
        )
