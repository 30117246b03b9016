"""How fresh each kind of a project's data must be: the one place the targets are named.

The sync (``sync.services.specs``) schedules each kind from these targets and the project page
shows each kind's age against them; README's "Cadences" table states the same figures. The
``read_at`` names are ``Project`` fields the sync stamps when it has read that kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class KindTarget:
    kind: str  # the sync's name for it (a SyncRun's counts are keyed by it)
    label: str  # what people read on the project page
    read_at: str  # the Project field that says when it was last read ("" = the list)
    target: timedelta  # the worst-case age the sync is scheduled to keep


# New and renamed projects: most are created through layersadmin, which stores them at once.
PROJECT_LIST = KindTarget("projects", "Projects", "", timedelta(minutes=30))
CONTENT = KindTarget("containers", "Content", "content_read_at", timedelta(minutes=15))
SCORED_CREATIVES = KindTarget(
    "ads_content", "Scored creatives", "creatives_read_at", timedelta(minutes=60)
)
BOARDS = KindTarget("leaderboards", "Leaderboards", "boards_read_at", timedelta(minutes=60))

# The kinds read per project, in the order the project page lists them.
PER_PROJECT = (CONTENT, SCORED_CREATIVES, BOARDS)
