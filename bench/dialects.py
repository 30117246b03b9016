"""The product against each sandbox dialect: rows synced, lost, untitled, unlinked; overrides
sent and applied. ``python -m bench.dialects [--projects 6] [--creatives 120] [--overrides 10]``.

Each dialect is a reading of the docs (sandbox/README.md); the figures say whether the same
code mirrors each one completely. It uses its own SQLite database under bench/.work/ (never
the development database) and an in-process sandbox per dialect. The measuring functions are
shared with tests/integration/test_dialects.py, which asserts the figures on both databases.
"""

from __future__ import annotations

import argparse
import sys
import time

import requests

from bench.standalone import django_setup


def upstream(server, path: str, **params) -> list[dict]:
    """Every item of a list, read with plain requests (not our client), whatever the form of
    the end of the list (``nextCursor`` null or absent)."""
    items, query = [], dict(params)
    headers = {"Authorization": f"Bearer {server.keys['main']}"}
    for _ in range(1000):
        body = requests.get(server.base_url + path, params=query, headers=headers, timeout=10)
        body.raise_for_status()
        data = body.json()
        items += data["items"]
        if not data.get("nextCursor"):
            return items
        query["cursor"] = data["nextCursor"]
    raise AssertionError("the list did not end")


def mirror_report(server) -> dict[str, int]:
    """What the mirror holds against what the API lists, for the active projects:

    * ``rows``: containers and scored creatives listed upstream;
    * ``lost``: listed upstream, not in the mirror (or marked gone);
    * ``untitled``: shown "(untitled)" although a source has a title (its container's
      caption, or a leaderboard row);
    * ``unlinked``: a creative whose container is stored but not linked to it;
    * ``board_unlinked``: a leaderboard row naming a stored creative, not linked to it.
    """
    from creatives.models import AdsContent, ContentContainer, LeaderboardSnapshot
    from creatives.selectors import leaderboard_get
    from layersadmin.layers.ids import id_key
    from projects.models import Project

    report = dict.fromkeys(("rows", "lost", "untitled", "unlinked", "board_unlinked"), 0)
    for project in Project.objects.filter(is_gone=False, status="active"):
        creatives = AdsContent.objects.filter(project=project, is_gone=False)
        containers = ContentContainer.objects.filter(project=project, is_gone=False)
        listed = upstream(server, f"/projects/{project.layers_id}/ads-content")
        content = upstream(server, f"/projects/{project.layers_id}/content")
        report["rows"] += len(listed) + len(content)
        report["lost"] += len(
            {id_key(i["adsContentId"]) for i in listed}
            - set(creatives.values_list("key", flat=True))
        )
        report["lost"] += len(
            {id_key(c["id"]) for c in content} - set(containers.values_list("key", flat=True))
        )
        board_titles = set()
        for items in LeaderboardSnapshot.objects.filter(project=project).values_list(
            "items", flat=True
        ):
            board_titles |= {id_key(i.get("adsContentId")) for i in items if i.get("title")}
        untitled = creatives.filter(title="")
        report["untitled"] += (
            untitled.filter(container__isnull=False).exclude(container__caption="").count()
            + untitled.filter(key__in=board_titles).count()
        )
        container_keys = set(containers.values_list("key", flat=True))
        report["unlinked"] += sum(
            1
            for source_id, container_id in creatives.values_list("source_id", "container_id")
            if id_key(source_id) in container_keys and container_id is None
        )
        boards = LeaderboardSnapshot.objects.filter(project=project, declined=False)
        for metric, window in set(boards.values_list("metric", "window")):
            rows = leaderboard_get(project=project, metric=metric, window=window).rows
            report["board_unlinked"] += sum(1 for r in rows if r.ads_content_id and not r.linked)
    return report


def overrides_applied(server, count: int) -> tuple[int, int]:
    """Send ``count`` overrides through the override service; return (sent, applied), applied
    meaning the API's own list shows the override and note afterwards."""
    from django.contrib.auth import get_user_model

    from creatives.models import AdsContent
    from creatives.services import creative_override_set
    from layersadmin.layers.ids import id_key

    user, _ = get_user_model().objects.get_or_create(username="bench-dialects")
    rows = list(
        AdsContent.objects.filter(project__status="active", override="", is_gone=False)
        .select_related("project")
        .order_by("key")[:count]
    )
    sent = applied = 0
    for index, row in enumerate(rows):
        note = f"bench {index} é🙂"
        creative_override_set(
            ads_content=row, user=user, override="include", note=note, form_token=f"b{index}"
        )
        sent += 1
        listed = upstream(server, f"/projects/{row.project.layers_id}/ads-content")
        there = next(i for i in listed if id_key(i["adsContentId"]) == row.key)
        applied += (there["override"], there["overrideNote"]) == ("include", note)
    return sent, applied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dialects", description=__doc__)
    parser.add_argument("--projects", type=int, default=6)
    parser.add_argument("--creatives", type=int, default=120)
    parser.add_argument("--overrides", type=int, default=10)
    args = parser.parse_args(argv)

    django_setup("dialects")
    from django.conf import settings
    from django.core.management import call_command

    from sandbox.dialects import DIALECTS
    from sandbox.server import PINNED_NOW, SandboxServer
    from sync.services import layers_sync

    print(
        f"{'dialect':<9} {'rows':>6} {'lost':>5} {'untitled':>9} {'unlinked':>9} "
        f"{'board unlinked':>15} {'2nd sync writes':>16} {'overrides sent/applied':>23}"
    )
    for dialect in DIALECTS:
        call_command("flush", "--noinput", verbosity=0)
        call_command("migrate", verbosity=0)
        with SandboxServer(
            seed=1,
            projects=args.projects,
            creatives_per_project=args.creatives,
            tier="unlimited",
            dialect=dialect,
            now=PINNED_NOW,
        ) as server:
            settings.LAYERS_API_BASE_URL = server.base_url
            settings.LAYERS_API_KEY = server.keys["main"]
            started = time.monotonic()
            first = layers_sync()
            second = layers_sync()
            report = mirror_report(server)
            sent, applied = overrides_applied(server, args.overrides)
            print(
                f"{dialect:<9} {report['rows']:>6} {report['lost']:>5} {report['untitled']:>9} "
                f"{report['unlinked']:>9} {report['board_unlinked']:>15} "
                f"{second.rows_written:>16} {f'{sent}/{applied}':>23}"
                f"   ({'ok' if first.ok and second.ok else 'errors'}, "
                f"{time.monotonic() - started:.1f} s)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
