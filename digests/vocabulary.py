"""The digests' words, named once: a sending's states and what the e-mail says.

The frequencies themselves (off, daily, weekly) are the alerts' (``alerts.vocabulary``,
chosen on the alert settings page); the rules' labels too.
"""

from __future__ import annotations

from alerts.vocabulary import DIGEST_DAILY, DIGEST_LABELS, DIGEST_OFF, DIGEST_WEEKLY

__all__ = ["DIGEST_DAILY", "DIGEST_LABELS", "DIGEST_OFF", "DIGEST_WEEKLY"]

FREQUENCIES = (DIGEST_DAILY, DIGEST_WEEKLY)  # what `send_digests --period` takes

# --- a sending's states (DigestSending.status) ------------------------------------------------
SENDING, SENT, FAILED, EMPTY = "sending", "sent", "failed", "empty"
STATUS_LABELS = {
    SENDING: "Sending (or stopped while sending: not sent again)",
    SENT: "Sent",
    FAILED: "Failed (retried by the next run)",
    EMPTY: "Nothing to report (no e-mail)",
}
MAX_ATTEMPTS = 5  # a failed sending is retried by the next runs until this many attempts

# --- what the e-mail shows ----------------------------------------------------------------------
ROWS_PER_RULE = 5  # rows shown per rule; the rest are "and N more", linked
SUBJECT = {
    DIGEST_DAILY: "layersadmin daily digest: {count} new alert{s}, {period}",
    DIGEST_WEEKLY: "layersadmin weekly digest: {count} new alert{s}, {period}",
}
HEADING = {DIGEST_DAILY: "Your daily alert digest", DIGEST_WEEKLY: "Your weekly alert digest"}
PERIOD_INTRO = "Alerts raised {period}, for the projects you manage and the rules you follow."
PERIOD_ZONE_YOURS = "The {unit} runs midnight to midnight in {zone}, your timezone."
PERIOD_ZONE_UTC = (
    "The {unit} runs midnight to midnight UTC: you have not set a timezone in your alert settings."
)
TIMES_IN_YOURS = "Times in {zone}, your timezone."
TIMES_IN_PROJECT = "Times in {zone}, the project's timezone."
TIMES_IN_PROJECTS = "Times in each project's timezone: {zones}."
TIMES_IN_UNKNOWN = "UTC (its timezone is not known here)"
MORE = "and {count} more"
MORE_IN_TABLE = "open all {total} in the decision table"
MORE_IN_NOTIFICATIONS = "see all {total} in your notifications"
STILL_OPEN = "still open"
CLEARED = "cleared {when}"
OPENED = "raised {when}"
SETTINGS_LINK = "Change or stop this digest in your alert settings"
NOTIFICATIONS_LINK = "All your notifications"
NO_TITLE = "(untitled)"
