"""The ``leadpipe`` console script.

    leadpipe demo      the main job: broker, topics, worker, sample traffic, simulated dialer, report
    leadpipe broker    run the embedded broker in the foreground
    leadpipe kafka     run Apache Kafka (one KRaft node, data on disk) in the foreground
    leadpipe topics    create (or list) every topic of the registry
    leadpipe worker    run a Faust worker (starts the embedded broker when none is configured)
    leadpipe bench     measure the I/O ceiling, the compute floor and the full pipeline
    leadpipe torture   a mixed stream under kill -9, checked for lost, standing and replayed state
    leadpipe gateway   run the HTTP ingest gateway (leads, opt-outs, consents, call outcomes)
    leadpipe crm       deliver qualified leads to a CRM over HTTP (crm-sink: a local CRM stand-in)
    leadpipe import    bulk-import lead files (CSV) onto lead-captured
    leadpipe dial-checks  what the dial-time check answered (by call id, request id or number)

Settings come from ``LEADPIPE_*`` environment variables; ``leadpipe <command> --help`` lists the ones
that command reads (``pipeline.config``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from pipeline.config import SERVICE_SETTINGS, Settings, TopicsSettings, WorkerSettings, settings_help
from pipeline.errors import ConfigError, LeadpipeError


def _settings() -> Settings:
    """Every setting, for the commands that run the whole pipeline (demo, bench, torture)."""
    return Settings.from_env(os.environ)


def cmd_broker(args: argparse.Namespace) -> int:
    from pipeline.broker import EmbeddedBroker

    broker = EmbeddedBroker(port=args.port)
    broker.start()
    print(f"embedded broker (Tansu) listening on {broker.bootstrap_servers}; Ctrl-C to stop", flush=True)
    print(f"export LEADPIPE_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def cmd_kafka(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipeline.errors import BrokerStartError
    from pipeline.kafka_broker import KafkaBroker

    if args.fetch_only:
        from pipeline.kafka_broker import resolve_jars

        started = time.monotonic()
        try:
            lib = resolve_jars(args.kafka_version)
        except BrokerStartError as exc:
            print(f"leadpipe kafka: {exc}", file=sys.stderr)
            return 2
        print(f"Apache Kafka {args.kafka_version}'s jars are in {lib} ({time.monotonic() - started:.1f} s)")
        return 0
    broker = KafkaBroker(Path(args.data_dir).resolve(), version=args.kafka_version, port=args.port)
    try:
        if not (broker.log_dir / "meta.properties").is_file():
            print(f"Apache Kafka {args.kafka_version}: resolving jars (the first time takes a minute) "
                  f"and formatting {broker.data_dir} ...", flush=True)
        broker.start()
    except BrokerStartError as exc:
        print(f"leadpipe kafka: {exc}", file=sys.stderr)
        return 2
    try:
        print(f"Apache Kafka {broker.version} (KRaft, pid {broker.pid}) listening on {broker.bootstrap_servers}, "
              f"data in {broker.data_dir}, log {broker.log_path}; Ctrl-C to stop", flush=True)
        print(f"export LEADPIPE_BOOTSTRAP_SERVERS={broker.bootstrap_servers}", flush=True)
        while broker.alive():
            time.sleep(0.5)
        print(f"leadpipe kafka: the broker exited (log: {broker.log_path})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        broker.stop()


def cmd_topics(args: argparse.Namespace) -> int:
    from pipeline.admin import ensure_topics
    from pipeline.topics import DAY_MS, registry

    settings = TopicsSettings.from_env(os.environ)
    if args.action == "list":
        for spec in registry(settings.app_id):
            kept = "compacted" if spec.retention is None else f"{spec.retention // DAY_MS} days"
            print(f"{spec.name:32} {spec.role:9} {spec.cleanup_policy:7} {kept:>10}  {spec.doc}")
        return 0
    if settings.embedded:
        raise ConfigError("set LEADPIPE_BOOTSTRAP_SERVERS to the cluster the topics should be created on")
    for report in ensure_topics(settings):
        state = "created" if report.created else "exists"
        print(f"{report.name:32} partitions={report.partitions} {state}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from pipeline.worker.main import run_worker

    return run_worker(WorkerSettings.from_env(os.environ))


def cmd_demo(args: argparse.Namespace) -> int:
    from connectors.demo.run import run_demo

    return run_demo(_settings(), leads=args.leads, exit_when_done=args.exit_when_done, timeout_s=args.timeout)


def cmd_webforms(args: argparse.Namespace) -> int:
    from connectors.demo import webforms

    return webforms.cmd_webforms(args)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.recovery:
        from pipeline.bench.recovery import run_recovery_bench

        return run_recovery_bench(_settings(), rows=args.rows, store=args.store)
    from pipeline.bench.end_to_end import side_by_side

    brokers = ("tansu", "kafka") if args.broker == "both" else (args.broker,)
    by_broker: dict[str, dict[str, str]] = {}
    status = 0
    for broker in brokers:
        figures = by_broker.setdefault({"tansu": "Tansu", "kafka": "Kafka"}[broker], {})
        if args.gateway:
            from pipeline.bench.gateway import run_gateway_bench

            status |= run_gateway_bench(_settings(), seconds=args.seconds, runs=args.runs, broker=broker,
                                        figures=figures)
        elif args.dial_check:
            from pipeline.bench.dialcheck import run_dialcheck_bench

            status |= run_dialcheck_bench(_settings(), rate=args.rate or 1000, seconds=args.seconds, runs=args.runs,
                                          broker=broker, figures=figures)
        else:
            from pipeline.bench.end_to_end import run_bench

            status |= run_bench(_settings(), leads=args.leads, runs=args.runs, rate=args.rate or 1000, broker=broker,
                                figures=figures)
    if len(brokers) > 1:
        side_by_side(by_broker, lambda s: print(s, flush=True))
    return status


def cmd_torture(args: argparse.Namespace) -> int:
    from pipeline.torture import run_torture

    return run_torture(_settings(), workers=args.workers, events=args.events, kills=args.kills, runs=args.runs,
                       seed=args.seed, broker=args.broker, guarantee=args.guarantee)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leadpipe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="run the whole pipeline locally on sample traffic")
    p.add_argument("--leads", type=int, default=60, help="sample leads to feed (default 60)")
    p.add_argument("--exit-when-done", action="store_true",
                   help="exit after the summary instead of running until Ctrl-C")
    p.add_argument("--timeout", type=float, default=120.0, help="give up waiting for results after this (s)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("webforms", help="post sample web-form traffic (leads, opt-outs, consents) to the gateway")
    p.add_argument("--leads", type=int, default=60, help="sample leads to post (default 60)")
    p.add_argument("--rate", type=float, default=None, help="posts per second (default: as fast as answered)")
    p.set_defaults(func=cmd_webforms)

    p = sub.add_parser("broker", help="run the embedded broker in the foreground")
    p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    p.set_defaults(func=cmd_broker)

    from pipeline.kafka_broker import DEFAULT_KAFKA_VERSION

    p = sub.add_parser("kafka", help="run Apache Kafka (one KRaft node) in the foreground, data kept on disk")
    p.add_argument("--kafka-version", default=DEFAULT_KAFKA_VERSION,
                   help=f"Apache Kafka release (default {DEFAULT_KAFKA_VERSION}, the one docker-compose pins)")
    p.add_argument("--data-dir", default="leadpipe-kafka",
                   help="KRaft storage, kept across runs (default ./leadpipe-kafka)")
    p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--fetch-only", action="store_true",
                   help="only resolve the jars into the cache (LEADPIPE_KAFKA_CACHE_DIR) and exit")
    p.set_defaults(func=cmd_kafka)

    p = sub.add_parser("topics", help="create or list the topics")
    p.add_argument("action", choices=["create", "list"])
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("worker", help="run a Faust worker")
    p.set_defaults(func=cmd_worker)

    from pipeline.registry.cli import add_registry_commands

    add_registry_commands(sub)
    from connectors.dialer.cli import add_dialer_commands

    add_dialer_commands(sub)

    from pipeline.console.cli import add_console_commands

    add_console_commands(sub)

    from connectors.crm_cli import add_crm_commands  # leadpipe crm, leadpipe crm-sink

    add_crm_commands(sub)

    from pipeline.imports.cli import add_import_commands  # leadpipe import leads

    add_import_commands(sub)

    from pipeline.gateway.cli import add_gateway_commands

    add_gateway_commands(sub)

    from pipeline.dialcheck_lookup import add_dialcheck_commands  # leadpipe dial-checks --call-id C

    add_dialcheck_commands(sub)

    from pipeline.replica.server import add_replica_commands  # leadpipe dial-check-replica

    add_replica_commands(sub)

    p = sub.add_parser("bench", help="measure throughput and latency")
    p.add_argument("--leads", type=int, default=20000, help="leads per throughput run")
    p.add_argument("--runs", type=int, default=3, help="runs per figure; medians are reported")
    p.add_argument("--rate", type=int, default=None,
                   help="offered leads/s for the latency run (default 1000), or dial-checks/s (default 1000)")
    p.add_argument("--dial-check", action="store_true",
                   help="benchmark the dial-time check and opt-out → blocked instead of the pipeline")
    p.add_argument("--seconds", type=float, default=10.0, help="dial-check (or gateway) load duration per run (s)")
    p.add_argument("--gateway", action="store_true",
                   help="benchmark the HTTP ingest gateway with wrk instead of the pipeline")
    p.add_argument("--broker", choices=("tansu", "kafka", "both"), default="tansu",
                   help="a fresh embedded Tansu, a fresh Apache Kafka (exactly-once), or both one after the other "
                        "with a side-by-side table (ignored when LEADPIPE_BOOTSTRAP_SERVERS names a cluster)")
    p.add_argument("--recovery", action="store_true",
                   help="time a cold worker rebuilding --rows table rows from the changelogs (Apache Kafka)")
    p.add_argument("--rows", type=int, default=1_000_000, help="table rows for --recovery (default 1,000,000)")
    p.add_argument("--store", default="rocksdb://", help="table store for --recovery (default rocksdb://)")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("torture", help="a mixed stream under kill -9: prove nothing accepted is lost")
    p.add_argument("--workers", type=int, default=1, choices=(1, 2), help="workers sharing the partitions")
    p.add_argument("--events", type=int, default=20000, help="inputs per run")
    p.add_argument("--kills", type=int, default=5, help="kill -9s per run, at random moments")
    p.add_argument("--runs", type=int, default=5, help="runs, each on a fresh broker")
    p.add_argument("--seed", type=int, default=20261206, help="seed of the first run's stream and kills")
    p.add_argument("--broker", choices=("tansu", "kafka"), default="tansu",
                   help="the embedded broker (at-least-once) or Apache Kafka; each run gets a fresh one")
    p.add_argument("--guarantee", choices=("exactly_once", "at_least_once"), default="exactly_once",
                   help="the workers' processing guarantee on Apache Kafka (Tansu: always at-least-once)")
    p.set_defaults(func=cmd_torture)
    _list_settings(sub)
    return parser


def _list_settings(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """End each command's ``--help`` (and its subcommands') with the settings it reads."""
    for name, kind in SERVICE_SETTINGS.items():
        pending = [sub.choices[name]]
        while pending:
            command = pending.pop()
            command.epilog = settings_help(kind)
            command.formatter_class = argparse.RawDescriptionHelpFormatter
            for action in command._actions:
                if isinstance(action, argparse._SubParsersAction):
                    pending.extend(action.choices.values())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SIGTERM behaves like Ctrl-C so every command unwinds through its finally blocks, and Ctrl-C works
    # even when the command was started from a shell that had SIGINT ignored (a script's `cmd &`:
    # Python then installs no handler, and the demo once ran on for 90 s after a test's Ctrl-C).
    if args.command != "worker":  # Faust's worker installs its own handlers
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"leadpipe: configuration error: {exc}", file=sys.stderr)
        return 2
    except LeadpipeError as exc:
        print(f"leadpipe: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
