"""``leadpipe console``: the CLI entry, kept light (the service is imported when the command runs)."""

from __future__ import annotations

import argparse
import os
from typing import Any


def cmd_console(_args: argparse.Namespace) -> int:
    from pipeline.config import ConsoleSettings
    from pipeline.console.service import serve

    return serve(ConsoleSettings.from_env(os.environ))


def add_console_commands(sub: Any) -> None:
    """Add ``leadpipe console`` to the CLI's subparsers."""
    p = sub.add_parser("console", help="serve the report, /metrics and the live dashboard (LEADPIPE_CONSOLE_PORT)")
    p.set_defaults(func=cmd_console)
