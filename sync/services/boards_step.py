"""The leaderboards step: the configured boards of a project, fetched on a thread while its
lists are written, stored afterwards.

Top-performers is the API's most expensive read (the sandbox ranks every creative); asked for
at the start of the project, its answers are ready when the lists are written, instead of
five round trips in a row at the end. Fetching (``leaderboard_fetch``, the API) and storing
(``leaderboard_store``, the database) are separate, so an answer travels as data. A snapshot
is stamped when stored, at most one project's sync after it was fetched. Snapshots are
history: appended when an answer changes, never marked gone.
"""

from __future__ import annotations

from concurrent.futures import Future

from creatives.services import leaderboard_configured, leaderboard_fetch, leaderboard_store
from layersadmin.layers import LayersClient
from layersadmin.layers.errors import LayersAPIError
from projects.models import Project
from sync.services.prefetch import Background
from sync.services.runs import SyncResult, record_error
from sync.services.specs import LEADERBOARDS


class BoardsAhead:
    """The project's configured boards, each fetched on one background thread with a client
    of its own; ``store`` collects and stores them in order."""

    def __init__(self, client: LayersClient, project: Project) -> None:
        self._client = client.clone()
        self._background = Background("layers-sync-boards")
        self._answers: list[tuple[str, str, Future]] = [
            (
                metric,
                window,
                self._background.submit(
                    leaderboard_fetch,
                    client=self._client,
                    project_id=project.layers_id,
                    metric=metric,
                    window=window,
                    filters={},
                ),
            )
            for metric, window in leaderboard_configured()
        ]

    def store(self, result: SyncResult, project: Project) -> None:
        counts = result.count(LEADERBOARDS.kind)
        for metric, window, answer in self._answers:
            try:
                fetched = answer.result()
            except LayersAPIError as exc:
                # A refusal of one board (not a declined mix, which is stored) is recorded; the
                # other boards and the project go on. Throttling is no refusal: raised.
                if exc.status and 400 <= exc.status < 500 and exc.code != "RATE_LIMITED":
                    where = f"project {project.layers_id} leaderboard {metric}:{window}"
                    record_error(result, where, exc)
                    continue
                raise
            _snapshot, created = leaderboard_store(
                project=project, metric=metric, window=window, filters={}, answer=fetched
            )
            if created:
                counts.created += 1
            else:
                counts.unchanged += 1

    def close(self) -> None:
        """Drop what was not used (the project failed first); never wait for it."""
        self._background.close()
        self._client.close()
