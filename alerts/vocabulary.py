"""The alerts' words, named once: the rules, how people say them, digests and mutes.

The models' choices, the settings page, the notifications page, Slack messages and the
admin all read them from here; nothing else writes a rule's name or label out again.
"""

from __future__ import annotations

from datetime import timedelta

from creatives.models import ELIGIBILITY_THRESHOLD

GATE = ELIGIBILITY_THRESHOLD  # organicScore >= 4.0 passes (REFERENCE 7.1): not a setting

# --- the rules ------------------------------------------------------------------------------
# A creative rule is about one scored creative; a project rule about the project itself.
INCLUDED_LOW = "included_low"
EXCLUDED_HIGH = "excluded_high"
EXCLUDED_PROMOTED = "excluded_promoted"
OVERRIDE_OUTSIDE = "override_outside"
ENTERED_TOP = "entered_top"
SCORE_DROP = "score_drop"
SYNC_FAILING = "sync_failing"
SYNC_STALE = "sync_stale"

CREATIVE_RULES = (
    INCLUDED_LOW,
    EXCLUDED_HIGH,
    EXCLUDED_PROMOTED,
    OVERRIDE_OUTSIDE,
    ENTERED_TOP,
    SCORE_DROP,
)
PROJECT_RULES = (SYNC_FAILING, SYNC_STALE)
RULES = (*CREATIVE_RULES, *PROJECT_RULES)

RULE_LABELS = {
    INCLUDED_LOW: f"Included but scoring under {GATE:.1f}",
    EXCLUDED_HIGH: f"Excluded but scoring {GATE:.1f} or more",
    EXCLUDED_PROMOTED: "Excluded but its ads still run",
    OVERRIDE_OUTSIDE: "Override changed outside layersadmin",
    ENTERED_TOP: "Entered a leaderboard's top",
    SCORE_DROP: "Score dropped",
    SYNC_FAILING: "Sync keeps failing",
    SYNC_STALE: "Data older than its target",
}
# What following a rule means, on the settings page (thresholds filled in from settings).
RULE_HELP = {
    INCLUDED_LOW: "An included creative decayed below the gate and runs only because of its pin.",
    EXCLUDED_HIGH: "An excluded creative climbed past the gate.",
    EXCLUDED_PROMOTED: (
        "Excluding does not pause running ads (seed 001): they run until paused in the "
        "platform's ad manager."
    ),
    OVERRIDE_OUTSIDE: "The override Layers has differs from the last one set through layersadmin.",
    ENTERED_TOP: "A creative entered the top {top_n} of a configured leaderboard.",
    SCORE_DROP: (
        "A score fell by {drop:g} or more since {drop_days} days ago (or since first seen)."
    ),
    SYNC_FAILING: "A project's sync failed {failures} times in a row.",
    SYNC_STALE: (
        "A kind of a project's data is older than its freshness target plus {grace} minutes."
    ),
}

# --- digests and mutes (AlertPreference, ProjectMute) ----------------------------------------
DIGEST_OFF, DIGEST_DAILY, DIGEST_WEEKLY = "off", "daily", "weekly"
DIGEST_LABELS = {DIGEST_OFF: "Off", DIGEST_DAILY: "Daily", DIGEST_WEEKLY: "Weekly"}
MUTE_DURATIONS = {"1": timedelta(days=1), "7": timedelta(days=7), "30": timedelta(days=30)}
MUTE_LABELS = {"1": "1 day", "7": "7 days", "30": "30 days"}
UNMUTE = "0"

# --- what pages and messages say --------------------------------------------------------------
NOTIFICATIONS_TITLE = "Notifications"
NO_NOTIFICATIONS = (
    "No notifications yet. Alerts about your projects appear here as the sync finds them."
)
SETTINGS_SAVED = "Your alert settings are saved."
MUTED = "Alerts about {project} are muted until {until}."
UNMUTED = "Alerts about {project} are on again."
NOTHING_SAVED = "Nothing was saved: {problem}"
UNKNOWN_TIMEZONE = "Pick a timezone from the list (for example Europe/Berlin), or leave it empty."
NO_SUCH_NOTIFICATION = "That notification is not yours or no longer exists."
MARKED_READ = "Marked as read."
ALL_MARKED_READ = "{count} notification{plural} marked as read."
