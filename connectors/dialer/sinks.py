"""Where a dialer's call outcomes go: the gateway (``POST /v1/call-outcomes``) or the ``call-outcome`` topic."""

from __future__ import annotations

from typing import Protocol

from connectors.gateway_client import GatewayClient, GatewayUnavailable, json_body
from pipeline.errors import LeadpipeError
from pipeline.events import CallOutcome
from pipeline.kafka_clients import EventProducer
from pipeline.topics import CALL_OUTCOME


class OutcomeRejected(LeadpipeError):
    """The gateway refused an outcome (4xx): sending it again would not help."""


class OutcomeSink(Protocol):
    def send(self, outcome: CallOutcome) -> None:
        """Deliver one outcome; raise :class:`OutcomeRejected` if it can never be delivered, any
        other :class:`LeadpipeError` if it may be delivered later."""
        ...


class KafkaOutcomeSink:
    """Writes outcomes to ``call-outcome`` (Avro, keyed by the number) and waits for the ack."""

    def __init__(self, producer: EventProducer) -> None:
        self._producer = producer

    def send(self, outcome: CallOutcome) -> None:
        self._producer.send(CALL_OUTCOME, outcome, key=outcome["phone"])
        self._producer.flush()


class HttpOutcomeSink:
    """Posts outcomes to the gateway's ``POST /v1/call-outcomes`` (202 once the broker acked)."""

    def __init__(self, client: GatewayClient) -> None:
        self._client = client

    def send(self, outcome: CallOutcome) -> None:
        answer = self._client.post("/v1/call-outcomes", json_body(outcome))
        if answer.status == 202:
            return
        if 400 <= answer.status < 500:
            raise OutcomeRejected(f"gateway answered {answer.status}: {answer.body}")
        raise GatewayUnavailable(f"gateway answered {answer.status}: {answer.body}")
