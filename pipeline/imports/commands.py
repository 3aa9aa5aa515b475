"""``leadpipe import``: argument parsing only, so ``leadpipe --help`` does not load phonenumbers;
:mod:`pipeline.imports.cli` is imported when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

BAD_ROWS_SHOWN = 20
DOC = """Bulk-import a CSV lead file onto lead-captured, with a progress bar and a summary naming every bad row.

    leadpipe import leads leads.csv --campaign solar-q4 --country US
    leadpipe import leads vendor.csv --map "Mobile Phone=phone" --map "Promo=attributes.promo" \\
        --source vendor:acme --errors rejected.csv
    leadpipe import leads leads.csv --campaign solar-q4 --dry-run     # check only, send nothing

Needs LEADPIPE_BOOTSTRAP_SERVERS (except with --dry-run). See docs/crm-and-imports.md.
"""


def _run_import_leads(args: argparse.Namespace) -> int:
    from pipeline.imports.cli import cmd_import_leads

    return cmd_import_leads(args)


def add_import_commands(subparsers: Any) -> None:
    """Register ``leadpipe import leads``."""
    top = subparsers.add_parser("import", help="bulk-import lead files (CSV) onto lead-captured",
                                description=DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = top.add_subparsers(dest="import_command", required=True)
    p = sub.add_parser("leads", help="import a CSV file of leads", description=DOC,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path)
    p.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                   help="fill FIELD (phone, campaign_id, first_name, address.region, consent.purpose, "
                        "attributes.NAME, or - to ignore) from COLUMN; repeatable")
    p.add_argument("--mapping", type=Path, default=None, help='a JSON file {"CSV column": "field", ...}')
    p.add_argument("--campaign", default=None, help="campaign_id for rows without one")
    p.add_argument("--country", default=None, help="country (ISO 3166-1 alpha-2) for rows without one")
    p.add_argument("--source", default=None, help="source of these leads (default import:<file name>)")
    p.add_argument("--no-attributes", action="store_true", help="drop unmapped columns instead of keeping "
                                                                 "them as attributes")
    p.add_argument("--errors", type=Path, default=None, help="write every bad row (line, reason, cells) here as CSV")
    p.add_argument("--dry-run", action="store_true", help="check the file; send nothing")
    p.add_argument("--decisions", type=Path, default=None,
                   help="wait for every row's decision and write each row with it (outcome, reasons, window) here")
    p.add_argument("--encoding", default="utf-8", help="an ASCII-compatible encoding (default utf-8)")
    p.add_argument("--delimiter", default=",", help="cell separator (default ,)")
    p.add_argument("--show-bad", type=int, default=BAD_ROWS_SHOWN, help="bad rows listed in the summary")
    p.add_argument("--show-mapping", action="store_true", help="print which column fills which field")
    p.set_defaults(func=_run_import_leads)
