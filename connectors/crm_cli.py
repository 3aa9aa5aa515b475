"""``leadpipe crm`` and ``leadpipe crm-sink``: argument parsing only, so ``leadpipe --help`` stays
fast; the connector and the sink are imported when their command runs."""

from __future__ import annotations

import argparse
from typing import Any

CRM_DOC = """Deliver qualified-lead records to a CRM over HTTP (LEADPIPE_CRM_URL is required; every
setting is listed below). See docs/crm-and-imports.md.
"""


def _run_crm(args: argparse.Namespace) -> int:
    from connectors.crm import cmd_crm

    return cmd_crm(args)


def _run_crm_sink(args: argparse.Namespace) -> int:
    from connectors.crm_sink import cmd_crm_sink

    return cmd_crm_sink(args)


def add_crm_commands(subparsers: Any) -> None:
    """Register ``leadpipe crm`` (the connector) and ``leadpipe crm-sink`` (the local CRM stand-in)."""
    p = subparsers.add_parser("crm", help="deliver qualified leads to a CRM over HTTP (LEADPIPE_CRM_* settings)",
                              description=CRM_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=_run_crm)

    p = subparsers.add_parser(
        "crm-sink", help="a local CRM stand-in that stores leads, honours Idempotency-Key and fails on purpose",
        description="POST any path to store a lead; POST .../forget or .../gdpr-delete, or DELETE, forgets a "
                    "number; GET /received lists them; GET /healthz. "
                    "Faults are seeded: see connectors/crm_sink.py.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of requests failed before storing")
    p.add_argument("--every-nth", type=int, default=0, help="fail every N-th request")
    p.add_argument("--fail-first", type=int, default=0, help="fail the first N requests")
    p.add_argument("--fail-after-store-rate", type=float, default=0.0,
                   help="share of requests stored and then answered with a failure (a lost answer)")
    p.add_argument("--failure-status", type=int, default=503)
    p.add_argument("--reject-marker", default=None, help="answer 400 to a body containing this text")
    p.add_argument("--echo-body", action="store_true", help="quote the refused body in the 400 answer, as CRMs do")
    p.add_argument("--latency-ms", type=float, default=0.0, help="answer every request after this delay")
    p.add_argument("--token", default=None, help="require Authorization: Bearer <token>")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_run_crm_sink)
