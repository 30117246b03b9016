"""`manage.py send_digests --period daily|weekly`: each person's alert digest e-mail (run it
from cron or a systemd timer: README "Digests")."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from digests import vocabulary as v
from digests.services import digests_send


class Command(BaseCommand):
    help = (
        "E-mail each person who chose this frequency the alerts of the previous day or ISO "
        "week (in their timezone). Sends each digest once, retries failed ones; exits "
        "non-zero when a send failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, choices=v.FREQUENCIES)
        parser.add_argument(
            "--date",
            dest="on_date",
            metavar="YYYY-MM-DD",
            help="Send for the day (or the ISO week) that contains this date, once it is over.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say who would get what; send nothing, record nothing.",
        )

    def handle(self, *args, period: str, on_date: str | None = None, dry_run=False, **options):
        day = _parse_day(on_date)
        result = digests_send(frequency=period, day=day, dry_run=dry_run)
        verbose = options["verbosity"] >= 1
        if verbose:
            for label, entries in (
                ("would send" if dry_run else "sent", result.would_send + result.sent),
                ("nothing to report", result.empty),
                ("FAILED", result.failed),
            ):
                for username, start, count in entries:
                    self.stdout.write(
                        f"{label}: {username}, {period} from {start}, {count} alert(s)"
                    )
        counts = [
            f"{len(result.would_send)} would be sent" if dry_run else f"{len(result.sent)} sent",
            f"{len(result.failed)} failed",
        ]
        for count, what in (
            (len(result.empty), "with nothing to report"),
            (result.done, "already done"),
            (result.busy, "sending elsewhere or stopped while sending (not sent again)"),
            (result.not_over, "not over yet"),
            (result.no_address, "without an e-mail address"),
            (result.given_up, f"failed {v.MAX_ATTEMPTS} times (not retried)"),
        ):
            if count:
                counts.append(f"{count} {what}")
        if verbose:
            dry = " (dry run: nothing sent or recorded)" if dry_run else ""
            self.stdout.write(f"{period.capitalize()} digests{dry}: " + ", ".join(counts) + ".")
        if not result.ok:
            raise CommandError(
                f"{len(result.failed)} digest(s) failed; the next run retries them "
                "(admin > Digests > Digest sendings shows why)."
            )


def _parse_day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"--date {text!r}: give a date as YYYY-MM-DD.") from None
