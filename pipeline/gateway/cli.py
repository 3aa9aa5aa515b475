"""``leadpipe gateway``: kept apart from the server so building the CLI imports nothing heavy."""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any


def cmd_gateway(args: argparse.Namespace) -> int:
    from pipeline.config import GatewaySettings
    from pipeline.gateway.server import serve

    settings = GatewaySettings.from_env(os.environ)
    try:
        import uvloop
    except ImportError:  # optional speed-up (Linux and macOS); the standard loop works the same
        asyncio.run(serve(settings))
    else:
        uvloop.run(serve(settings))
    return 0


def add_gateway_commands(sub: Any) -> None:  # argparse's _SubParsersAction is private
    """Add ``leadpipe gateway`` to the CLI's subparsers."""
    p = sub.add_parser("gateway", help="run the HTTP ingest gateway (needs LEADPIPE_BOOTSTRAP_SERVERS)")
    p.set_defaults(func=cmd_gateway)
