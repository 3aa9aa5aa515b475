"""A bare Faust agent, for ``leadpipe bench``: the framework's own ceiling on this broker.

``python -m pipeline.bench.bare_faust TOPIC COUNT`` starts a Faust app configured like the worker (same
transport, fetch wait, session timeout), consumes ``TOPIC`` from the beginning in an agent that does
nothing with the records, and prints ``BARE <events/s>`` — from the first record to the
``COUNT``-th — then exits. What the pipeline does on top of this is the pipeline's own cost.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import Any

import faust
from faust.worker import Worker

from pipeline.config import Settings
from pipeline.transport import LeadpipeApp
from pipeline.worker.app import faust_broker_urls


def main(topic: str, count: int) -> None:
    settings = Settings.from_env(os.environ)
    app = LeadpipeApp(f"bare-{uuid.uuid4().hex[:8]}", fetch_max_wait_ms=settings.fetch_max_wait_ms,
                      broker=faust_broker_urls(settings.bootstrap_servers or ""), store="memory://",
                      topic_partitions=settings.partitions, topic_allow_declare=False, topic_disable_leader=True,
                      key_serializer="raw", value_serializer="raw", web_enabled=False,
                      broker_session_timeout=settings.session_timeout_s,
                      broker_heartbeat_interval=settings.heartbeat_interval_s,
                      consumer_auto_offset_reset="earliest")
    seen = {"n": 0, "first": 0.0}

    @app.agent(app.topic(topic), concurrency=1)
    async def bare(stream: faust.StreamT[bytes]) -> None:
        async for _ in stream.events():
            if seen["n"] == 0:
                seen["first"] = time.perf_counter()
            seen["n"] += 1
            if seen["n"] == count:
                print(f"BARE {(count - 1) / (time.perf_counter() - seen['first']):.1f}", flush=True)
                os._exit(0)  # measured: no need to leave the group politely

    worker: Any = Worker(app, loglevel="warning", quiet=True, redirect_stdouts=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
