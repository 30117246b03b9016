"""`manage.py sync_layers`: mirror the Layers API into the database (run it from cron)."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from sync.services import SyncResult, layers_sync


class Command(BaseCommand):
    help = (
        "Sync projects, content, scored creatives and leaderboards from the Layers API. "
        "Exits non-zero when anything failed, after finishing what it could."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--project",
            action="append",
            dest="projects",
            metavar="ID",
            help="Sync only this project (Layers id); repeat for several.",
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Read every kind of every project, and all content, not only what is new.",
        )
        parser.add_argument("--quiet", action="store_true", help="Print only errors.")

    def handle(self, *args, projects=None, full=False, quiet=False, **options):
        verbosity = 0 if quiet else options["verbosity"]
        progress, close = self._progress(verbosity)
        try:
            # Without arguments: the work that is due (each kind on its cadence, stalest
            # projects first). Named projects and --full: everything.
            result = layers_sync(
                project_ids=projects, full=full, progress=progress, due_only=not (projects or full)
            )
        finally:
            close()
        self._summary(result, verbosity)
        if not result.ok:
            raise CommandError(
                f"sync #{result.run.pk} finished with {len(result.errors)} error(s); "
                "see the sync run in admin."
            )

    def _progress(self, verbosity: int):
        """A tqdm bar on a terminal; plain lines for cron; nothing when quiet."""
        if verbosity == 0:
            return None, lambda: None
        interactive = hasattr(self.stdout, "isatty") and self.stdout.isatty()
        state: dict = {"bar": None}

        def progress(stage, project):
            if stage == "projects":
                from projects.models import Project

                total = Project.objects.filter(is_gone=False).count()
                if interactive:
                    from tqdm import tqdm

                    state["bar"] = tqdm(total=total, unit="project", file=sys.stderr)
                else:
                    self.stdout.write(f"projects listed: {total}")
            elif stage in ("project", "failed"):
                if state["bar"] is not None:
                    state["bar"].set_postfix_str(project.name[:30])
                    state["bar"].update(1)
                elif stage == "failed":
                    self.stdout.write(f"FAILED {project.layers_id} {project.name}")
                else:
                    self.stdout.write(f"synced {project.layers_id} {project.name}")

        def close():
            if state["bar"] is not None:
                state["bar"].close()

        return progress, close

    def _summary(self, result: SyncResult, verbosity: int) -> None:
        run = result.run
        if run.pk is None:  # an idle run (nothing due) is not recorded
            if verbosity:
                self.stdout.write("nothing due")
            return
        for error in result.errors:
            self.stderr.write(f"error: {error['where']}: {error['message']}")
        if result.failed:
            self.stderr.write(f"projects that failed: {', '.join(result.failed)}")
        if verbosity == 0:
            return
        seconds = run.duration.total_seconds() if run.duration else 0.0
        self.stdout.write(
            f"sync #{run.pk} {run.status} in {seconds:.1f}s: "
            f"{run.projects_synced} projects synced, {run.projects_skipped} skipped, "
            f"{run.api_calls} API calls ({run.retries} retries, {run.throttled} throttled)"
        )
        for kind, counts in result.counts.items():
            c = counts.as_dict()
            line = (
                f"  {kind:<13} created {c['created']:>6}  updated {c['updated']:>6}  "
                f"unchanged {c['unchanged']:>6}  gone {c['gone']:>5}"
            )
            if c["invalid"]:
                line += f"  invalid {c['invalid']}"
            self.stdout.write(line)
