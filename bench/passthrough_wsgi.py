"""The pass-through server of measure 5: the dashboard, its reads answered from the API.

``gunicorn bench.passthrough_wsgi:application`` with ``BENCH_LIVE_BASE_URL`` set to a sandbox:
every request runs the unchanged views inside ``Live.request()`` (bench/passthrough.py). Each
response says how many API calls it took in ``X-Bench-Api-Calls``.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "layersadmin.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

django_application = get_wsgi_application()

from bench.passthrough import Live  # noqa: E402 - needs Django set up
from layersadmin.layers import get_client  # noqa: E402

# The page measures' sandboxes are unlimited: name it, or the client paces as standard.
live = Live(get_client(base_url=os.environ["BENCH_LIVE_BASE_URL"], tier="unlimited"))


def application(environ, start_response):
    before = live.client.stats.calls

    def start(status, headers, exc_info=None):
        headers.append(("X-Bench-Api-Calls", str(live.client.stats.calls - before)))
        return start_response(status, headers, exc_info)

    with live.request():
        result = django_application(environ, start)
        try:
            body = b"".join(result)  # rendered inside the swap
        finally:
            if hasattr(result, "close"):
                result.close()
    return [body]
