"""``leadpipe dialer``: the reference dialer client run as a command, configured from the environment."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from connectors.dialer.client import DialerClient
from connectors.dialer.dialcheck import DialCheckClient
from connectors.dialer.feed import CallReadyFeed
from connectors.dialer.sinks import HttpOutcomeSink, KafkaOutcomeSink, OutcomeSink
from connectors.gateway_client import GatewayClient
from connectors.outcome_model import OutcomeModel
from pipeline.kafka_clients import EventProducer
from pipeline.topics import CALL_OUTCOME


def add_dialer_commands(sub: Any) -> None:
    """Add ``leadpipe dialer`` to the CLI's subparsers."""
    p = sub.add_parser("dialer", help="run the reference dialer client (simulated calls) against call-ready")
    p.add_argument("--from", dest="start", choices=["beginning", "end"], default="end",
                   help="where to start reading call-ready (default: end, only new offers)")
    p.set_defaults(func=cmd_dialer)


def cmd_dialer(args: argparse.Namespace) -> int:
    import os
    import signal

    from pipeline.codec import make_codec
    from pipeline.config import DialerSettings
    from pipeline.errors import ConfigError

    settings = DialerSettings.from_env(os.environ)
    if settings.embedded:
        raise ConfigError("set LEADPIPE_BOOTSTRAP_SERVERS to the cluster whose call-ready topic the dialer works")
    codec = make_codec(settings)
    sink: OutcomeSink
    producer: EventProducer | None = None
    if settings.gateway_url:
        if not settings.api_key:
            raise ConfigError("LEADPIPE_API_KEY is needed to post outcomes to LEADPIPE_GATEWAY_URL")
        sink = HttpOutcomeSink(GatewayClient(settings.gateway_url, settings.api_key))
        where = f"gateway {settings.gateway_url}"
    else:
        producer = EventProducer(settings.kafka_client_config(), codec)
        sink = KafkaOutcomeSink(producer)
        where = f"topic {CALL_OUTCOME}"
    fixed = settings.fixed_clock
    client = DialerClient(
        checker=DialCheckClient(settings.dial_check_urls, api_key=settings.api_key), sink=sink,
        model=OutcomeModel(seed=settings.dialer_seed),
        clock=(lambda: fixed) if fixed else (lambda: datetime.now(UTC)),
        calls_per_second=settings.dialer_calls_per_second, talk_time_s=settings.dialer_talk_time_s,
        campaigns=settings.dialer_campaigns, agents=settings.dialer_agents,
        announce=lambda line: print(f"dialer: {line}", flush=True),
    )
    feed = CallReadyFeed(settings.kafka_client_config(), codec, from_beginning=args.start == "beginning").start()
    stop = False

    def on_signal(_signo: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    campaigns = ", ".join(settings.dialer_campaigns) or "every campaign"
    agents = ", ".join(settings.dialer_agents) or "no named agents"
    print(f"dialer: {campaigns}; agents logged in: {agents}; dial-check {', '.join(settings.dial_check_urls)}; "
          f"outcomes to {where}; {settings.dialer_calls_per_second} calls/s; Ctrl-C to stop", flush=True)
    try:
        client.run(feed, lambda: stop)
    finally:
        feed.close()
        if producer is not None:
            producer.flush()
        s = client.stats
        print(f"dialer: {s.offers} offers, {s.withdrawn} withdrawn, {s.blocked} blocked by the dial-check "
              f"{dict(s.blocked_reasons)}, {s.dialed} dialed, {s.expired} expired, outcomes {dict(s.outcomes)}; "
              f"callbacks to the promising agent {s.callbacks_to_promiser}, to another {s.callbacks_to_another}",
              flush=True)
    return 0
