"""The bell's unread count for every page (base.html's top bar).

Lazy: the COUNT runs only when a template reads it (a full page's top bar), never for an
htmx fragment or a signed-out visitor. One query over the partial index of unread rows.
"""

from __future__ import annotations

from functools import cached_property

from alerts.selectors import notification_unread_count


class UnreadCount:
    """Reads as the number (``{{ unread_notifications.count }}``), counted at most once."""

    def __init__(self, user) -> None:
        self._user = user

    @cached_property
    def count(self) -> int:
        return notification_unread_count(user=self._user)


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": UnreadCount(user)}
