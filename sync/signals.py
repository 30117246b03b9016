"""What the sync tells the apps above it, without importing them (imports flow one way).

Both are sent with ``send_robust`` outside any transaction of the sync, after its writes are
committed: a receiver that fails is logged and never changes the sync's own outcome.

``project_synced``
    After each project's sync that ran (not one skipped because another run held it):
    ``project`` (the Project), ``ok`` (False when the project's sync failed), ``error`` (the
    failure's text, "" when ok) and ``result`` (the run's ``SyncResult``).
``sync_run_finished``
    After every run, idle ones included (a run with nothing due leaves no SyncRun, but is
    still a moment to notice a project that has stopped syncing): ``result``.
"""

from __future__ import annotations

import logging

from django.dispatch import Signal

logger = logging.getLogger(__name__)

project_synced = Signal()
sync_run_finished = Signal()


def announce(signal: Signal, **kwargs) -> None:
    """Send ``signal`` to every receiver; log (never raise) what a receiver raised."""
    for receiver, outcome in signal.send_robust(sender="sync", **kwargs):
        if isinstance(outcome, Exception):
            logger.error(
                "a receiver of the sync's signal failed: %r",
                receiver,
                exc_info=(type(outcome), outcome, outcome.__traceback__),
            )
