"""Background tasks of the alerts (``sync/tasks.py``'s rules: keyword arguments only, JSON
in and out, one service call, never inside a request or the sync's transaction).

``alerts_slack_post_task`` posts newly opened alerts to each team's Slack-compatible
incoming webhook (``TeamAlertChannel``): one message per team, a line per project and rule
with a link to the decision table filtered to exactly those creatives. The webhook URL is a
secret: never logged, never returned (a failure is logged by its exception's class only,
because ``requests`` puts the URL in its messages).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_tasks import task

from alerts.models import Alert, TeamAlertChannel
from alerts.vocabulary import RULE_LABELS
from projects.models import Project

logger = logging.getLogger(__name__)

SLACK_TIMEOUT = (5, 10)  # connect, read (seconds)
MAX_LINES = 30  # per message; the rest are summed up in one line


@task()
def alerts_slack_post_task(*, alert_ids: list[int]) -> dict:
    """Post these alerts to the teams whose members manage their projects."""
    return alerts_slack_post(alert_ids=alert_ids)


def alerts_slack_enqueue(*, alert_ids: list[int]) -> None:
    """Queue the post (called after the evaluation's commit). A queue that cannot take it is
    logged: the alerts and people's notifications are already recorded."""
    try:
        alerts_slack_post_task.enqueue(alert_ids=list(alert_ids))
    except Exception:
        logger.exception("alerts: could not queue the Slack post of %d alert(s)", len(alert_ids))


def alerts_slack_post(*, alert_ids: list[int], session: requests.Session | None = None) -> dict:
    """One message per enabled team channel with any of these alerts; returns counts only."""
    alerts = list(
        Alert.objects.filter(pk__in=alert_ids)
        .select_related("project", "ads_content")
        .order_by("project__name", "rule", "id")
    )
    if not alerts:
        return {"channels": 0, "posted": 0, "failed": 0}
    project_ids = {alert.project_id for alert in alerts}
    managers: dict[int, set[int]] = defaultdict(set)  # user -> projects
    for project_id, user_id in Project.account_managers.through.objects.filter(
        project_id__in=project_ids
    ).values_list("project_id", "user_id"):
        managers[user_id].add(project_id)
    channels = list(TeamAlertChannel.objects.filter(enabled=True).select_related("group"))
    members: dict[int, set[int]] = defaultdict(set)  # group -> users
    for group_id, user_id in (
        get_user_model()
        .groups.through.objects.filter(group_id__in=[c.group_id for c in channels])
        .values_list("group_id", "user_id")
    ):
        members[group_id].add(user_id)
    posted = failed = used = 0
    http = session or requests.Session()
    try:
        for channel in channels:
            projects = set().union(
                *(managers[u] for u in members[channel.group_id] if u in managers)
            )
            mine = [alert for alert in alerts if alert.project_id in projects]
            if not mine:
                continue
            used += 1
            try:
                response = http.post(
                    channel.slack_webhook_url,
                    json={"text": slack_text(mine)},
                    timeout=SLACK_TIMEOUT,
                )
                response.raise_for_status()
                posted += 1
            except requests.RequestException as exc:
                failed += 1
                status = getattr(getattr(exc, "response", None), "status_code", None)
                logger.warning(
                    "alerts: Slack post to team %s failed: %s%s",
                    channel.group_id,
                    type(exc).__name__,
                    f" (HTTP {status})" if status else "",
                )
    finally:
        if session is None:
            http.close()
    return {"channels": used, "posted": posted, "failed": failed}


def slack_escape(text: str) -> str:
    """Slack's own escaping of message text (&, <, >): API text cannot make a link or a
    mention."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(alerts: list[Alert]) -> str:
    """The message: a line per (project, rule), linking to exactly its creatives."""
    groups: dict[tuple[int, str], list[Alert]] = defaultdict(list)
    for alert in alerts:
        groups[(alert.project_id, alert.rule)].append(alert)
    site = settings.SITE_URL.rstrip("/")
    lines = []
    for (_project_id, rule), found in groups.items():
        project = found[0].project
        label = slack_escape(RULE_LABELS.get(rule, rule))
        name = slack_escape(project.name or project.layers_id)
        creatives = [a.ads_content for a in found if a.ads_content is not None]
        if creatives:
            ids = ",".join(c.layers_id for c in creatives)
            url = site + reverse("creative_list", kwargs={"project_id": project.layers_id})
            url += "?" + urlencode({"ids": ids})
            what = f"{len(creatives)} creative{'s' if len(creatives) != 1 else ''}"
            lines.append(f"• *{name}*: {label} — <{url}|{what}>")
        else:
            url = site + reverse("project_detail", kwargs={"project_id": project.layers_id})
            lines.append(f"• *{name}*: {label} — <{url}|project>")
    more = len(lines) - MAX_LINES
    lines = lines[:MAX_LINES] + ([f"…and {more} more"] if more > 0 else [])
    return "layersadmin alerts\n" + "\n".join(lines)
