"""The sync's signals (``sync.signals``), answered with an evaluation of the rules.

Each receiver catches and logs its own failure: alerts never change a sync's outcome.
"""

from __future__ import annotations

import logging

from django.dispatch import receiver

from alerts.services import alerts_after_project_sync, alerts_after_run
from sync.signals import project_synced, sync_run_finished

logger = logging.getLogger(__name__)


@receiver(project_synced, dispatch_uid="alerts.after_project_sync")
def _after_project_sync(sender, *, project, ok: bool, error: str = "", **kwargs) -> None:
    try:
        alerts_after_project_sync(project=project, ok=ok, error=error)
    except Exception:
        logger.exception("alerts: evaluation after the sync of project %s failed", project.pk)


@receiver(sync_run_finished, dispatch_uid="alerts.after_run")
def _after_run(sender, **kwargs) -> None:
    try:
        alerts_after_run()
    except Exception:
        logger.exception("alerts: evaluation after a sync run failed")
