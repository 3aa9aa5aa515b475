"""``leadpipe import``: the arguments and the command. Building the CLI imports nothing heavy
(``leadpipe --help`` does not load phonenumbers); :mod:`pipeline.imports.importer` is imported
when the command runs."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from pipeline.errors import ConfigError

BAD_ROWS_SHOWN = 20
DOC = """Bulk-import a CSV lead file onto lead-captured, with a progress bar and a summary naming every bad row.

    leadpipe import leads leads.csv --campaign solar-q4 --country US
    leadpipe import leads vendor.csv --map "Mobile Phone=phone" --map "Promo=attributes.promo" \\
        --source vendor:acme --errors rejected.csv
    leadpipe import leads leads.csv --campaign solar-q4 --dry-run     # check only, send nothing

Needs LEADPIPE_BOOTSTRAP_SERVERS (except with --dry-run). See docs/crm-and-imports.md.
"""


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip():
            raise ConfigError(f"--map {item!r}: expected CSV_COLUMN=FIELD")
        mapping[column] = target
    return mapping


def _load_mapping_file(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--mapping {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError(f"--mapping {path}: expected a JSON object of \"CSV column\": \"field\"")
    return dict(data)


def cmd_import_leads(args: argparse.Namespace) -> int:
    from pipeline.config import ImportSettings
    from pipeline.imports.importer import import_leads, print_summary
    from pipeline.imports.leads import ImportDefaults

    settings = ImportSettings.from_env(os.environ)
    if settings.embedded and not args.dry_run:
        raise ConfigError("set LEADPIPE_BOOTSTRAP_SERVERS to the cluster to import into (or use --dry-run)")
    overrides = _load_mapping_file(args.mapping) if args.mapping is not None else {}
    overrides.update(_parse_map(args.map))
    if args.country is not None and len(args.country) != 2:
        raise ConfigError(f"--country {args.country!r}: expected an ISO 3166-1 alpha-2 code such as US")
    defaults = ImportDefaults(source=args.source or f"import:{args.file.name}", campaign_id=args.campaign,
                              country=args.country.upper() if args.country else None,
                              default_region=settings.default_region)
    result = import_leads(args.file, settings=settings, defaults=defaults, overrides=overrides,
                          unmapped_as_attributes=not args.no_attributes, errors_path=args.errors,
                          dry_run=args.dry_run, encoding=args.encoding, delimiter=args.delimiter,
                          progress=sys.stderr, keep_bad=args.show_bad, decisions_path=args.decisions)
    if args.show_mapping:
        print("column mapping:")
        for line in result.plan.describe():
            print(f"  {line}")
    print_summary(result, sys.stdout, args.errors)
    if args.decisions is not None and not args.dry_run:
        print(f"  decisions  every row with its decision (outcome, reasons, window): {args.decisions}")
    return 1 if result.delivery_failures else 0


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
    p.set_defaults(func=cmd_import_leads)
