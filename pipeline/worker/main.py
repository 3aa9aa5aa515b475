"""``leadpipe worker``: start the embedded broker when no cluster is configured, create the topics,
and run the Faust app until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from faust.worker import Worker

from pipeline.admin import ensure_topics
from pipeline.config import WorkerSettings
from pipeline.errors import ConfigError
from pipeline.worker.app import create_app
from pipeline.worker.transactions import aiokafka_client_options, transactions_unsupported

log = logging.getLogger("leadpipe")


class QuietWorker(Worker):
    """Faust's worker without its terminal spinner. At a log level of WARN or above the spinner sets
    the *root* logger to DEBUG so that it can spin on every record: every aiokafka and Faust debug
    call then builds a log record (7.5 % of a busy worker's time, measured with py-spy)."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        self.spinner = None
        super().on_setup_root_logger(logger, level)


def resolve_guarantee(settings: WorkerSettings) -> WorkerSettings:
    """``auto`` becomes exactly-once when the broker gives transactions (Apache Kafka), else
    at-least-once (the embedded broker); an explicit ``exactly_once`` on a broker without them stops
    start-up with the reason.

    Exactly-once holds with two workers under kill -9 since the offset gate admits records in
    offset order there too (pipeline.worker.offsets): the torture suite's runs of two exactly-once
    workers had left leads undecided before it (records Faust fetched and dropped around a
    rebalance, committed past by the next batch's transaction)."""
    if settings.processing_guarantee == "at_least_once":
        return settings
    servers = (settings.bootstrap_servers or "").split(",")
    missing = asyncio.run(transactions_unsupported(servers, aiokafka_client_options(settings), settings.app_id))
    if missing is None:
        guarantee = "exactly_once"
    elif settings.processing_guarantee == "exactly_once":
        raise ConfigError(f"LEADPIPE_PROCESSING_GUARANTEE=exactly_once: the broker gives no transactions ({missing})")
    else:
        guarantee = "at_least_once"
    log.warning("processing guarantee: %s%s", guarantee,
                "" if missing is None else f" (the broker gives no transactions: {missing})")
    return dataclasses.replace(settings, processing_guarantee=guarantee)


def run_worker(settings: WorkerSettings) -> int:
    broker = None
    if settings.embedded:
        from pipeline.broker import EmbeddedBroker

        broker = EmbeddedBroker()
        settings = dataclasses.replace(settings.with_bootstrap(broker.start()), recovery_consistency_check=False,
                                       processing_guarantee="at_least_once")
        print(f"embedded broker on {settings.bootstrap_servers}", flush=True)
    try:
        # Idempotent; a worker must never let Faust or Tansu auto-create a topic.
        ensure_topics(settings)
        settings = resolve_guarantee(settings)
        app = create_app(settings)
        worker = QuietWorker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
        worker.execute_from_commandline()  # returns via SystemExit on SIGINT/SIGTERM
    finally:
        if broker is not None:
            broker.stop()
    return 0
