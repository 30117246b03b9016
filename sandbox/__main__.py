"""``python -m sandbox``: run the Layers Partner API sandbox in the foreground."""

from __future__ import annotations

import argparse
import os
import sys

from .dialects import DIALECTS
from .server import SandboxServer
from .util import parse_iso


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m sandbox", description="Local Layers Partner API sandbox."
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--projects", type=int, default=6)
    ap.add_argument("--creatives-per-project", type=int, default=120)
    ap.add_argument(
        "--tier", choices=("standard", "pilot", "partner", "unlimited"), default="standard"
    )
    ap.add_argument(
        "--fault-rate", type=float, default=0.0, help="0..1, share of /v1 requests that fail"
    )
    ap.add_argument("--latency-ms", type=int, default=0, help="added to every /v1 request")
    ap.add_argument(
        "--now",
        default=None,
        help="pin the virtual clock: start it at this ISO-8601 time and move it only on "
        "/_sandbox/advance (default: the wall clock, followed while it runs)",
    )
    ap.add_argument(
        "--api-key", default=None, help="fix the main key (default: derived from the seed)"
    )
    ap.add_argument(
        "--dialect",
        choices=DIALECTS,
        default="seed",
        help="seed: the shapes the vendor pages show; variant: the other reasonable answer "
        "wherever the docs are silent or disagree (sandbox/README.md)",
    )
    ap.add_argument(
        "--webhook-url",
        default=os.environ.get("SANDBOX_WEBHOOK_URL") or None,
        help="POST signed webhook events here (content.generated on advance, content.approved"
        "/rejected on review; sandbox/webhooks.py). Env: SANDBOX_WEBHOOK_URL",
    )
    ap.add_argument(
        "--webhook-secret",
        default=os.environ.get("SANDBOX_WEBHOOK_SECRET") or None,
        help="the secret webhooks are signed with; two comma-separated sign with both, as "
        "during a rotation. Env: SANDBOX_WEBHOOK_SECRET (keeps it out of the process list)",
    )
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 0.0 <= args.fault_rate <= 1.0:
        print("--fault-rate must be between 0 and 1", file=sys.stderr)
        return 2
    if args.webhook_url and not (args.webhook_secret or "").strip(" ,"):
        print("--webhook-url needs --webhook-secret (or SANDBOX_WEBHOOK_SECRET)", file=sys.stderr)
        return 2
    if args.webhook_url and not args.webhook_url.startswith(("http://", "https://")):
        print("--webhook-url must be an http:// or https:// URL", file=sys.stderr)
        return 2
    if args.now is not None:
        try:
            parse_iso(args.now)
        except ValueError as e:
            print(f"--now: {e}", file=sys.stderr)
            return 2
    srv = SandboxServer(
        seed=args.seed,
        projects=args.projects,
        creatives_per_project=args.creatives_per_project,
        tier=args.tier,
        fault_rate=args.fault_rate,
        latency_ms=args.latency_ms,
        now=args.now,
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        verbose=args.verbose,
        dialect=args.dialect,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
    )
    print("Layers Partner API sandbox")
    print(f"  base URL : {srv.base_url}")
    print(f"  control  : {srv.root_url}/_sandbox/  (advance, reset, faults, state, info)")
    clock = f"{srv.now_text} (real time)" if srv.realtime else f"{srv.now_text} (pinned)"
    print(f"  clock    : {clock}   seed {args.seed}   tier {args.tier}   dialect {args.dialect}")
    if srv.webhooks is not None:  # the secret is never printed
        print(f"  webhooks : POST {srv.webhooks.url} (signed)")
    print("  API keys :")
    for label, key in srv.keys.items():
        print(f"    {label:<15} {key}")
    print(
        f'  try: curl -H "Authorization: Bearer {srv.keys["main"]}" {srv.base_url}/whoami',
        flush=True,
    )
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
