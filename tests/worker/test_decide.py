"""The decide agent's batch plan, without a broker: what it sends, what it writes, in what order,
and what becomes of records it cannot decide."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from core.core_builders import PHONE, T0, lead, opt_out

from pipeline import topics
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.worker.app import partitioner
from pipeline.worker.decide import Decider, Incoming
from pipeline.worker.email_index import EmailIndex
from pipeline.worker.policies import load_policies
from pipeline.worker.state import NumberTables
from pipeline.worker.wire import DEAD_LETTER_HEAD_BYTES, MAX_INPUT_BYTES

PARTITIONS = 4
NUMBER_EVENTS = "leadpipe-number-events"
INDEX = "leadpipe-emails-changelog"
CODEC = make_codec(Settings())
partition_of = partitioner(PARTITIONS)
HOME = partition_of(PHONE.encode())


class Tables:
    """Four plain dicts standing in for the Faust tables (``name`` is what the dial-check router reads)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[bytes, bytes]] = {t: {} for t in ("suppressions", "consents", "leads", "erasures")}

    def number_tables(self) -> NumberTables:
        return NumberTables(*(self.rows[t] for t in ("suppressions", "consents", "leads", "erasures")), b"s" * 32)


def make_decider(tables: Tables | None = None, index: EmailIndex | None = None) -> tuple[Decider, Tables]:
    tables = tables or Tables()
    decider = Decider(policies=load_policies(Settings(), with_registries=False), codec=CODEC,
                      tables=tables.number_tables(), index=index, number_events_topic=NUMBER_EVENTS,
                      email_index_topic=INDEX, legacy_email_topic="leadpipe-email-events",
                      partition_of=partition_of, default_region="US", erasure_secret=b"s" * 32)
    return decider, tables


def incoming(topic: str, record: Any, *, key: bytes | None = PHONE.encode(), partition: int = HOME,
             offset: int = 0) -> Incoming:
    return Incoming(topic, partition, offset, key, CODEC.encode(topic, record), 1.0)


def decoded(out: Any) -> dict[str, Any]:
    return CODEC.decode(out.value).record


def test_a_lead_keyed_by_its_number_is_decided_at_once_and_its_rows_planned_once() -> None:
    decider, _ = make_decider()
    plan = decider.plan([incoming(topics.LEAD_CAPTURED, lead())], T0)

    assert {o.topic for o in plan.outputs} == {topics.CALL_READY, topics.LEAD_DECISION}
    assert all(o.key == PHONE.encode() for o in plan.outputs)
    assert {table for table, _ in plan.rows} == {"consents", "leads"}
    assert plan.row_partition == {PHONE.encode(): HOME}
    assert plan.decided == 1 and plan.dead_letters == 0


@pytest.mark.parametrize(("key", "partition"), [(b"L1", HOME), (PHONE.encode(), (HOME + 1) % PARTITIONS)],
                         ids=["keyed by lead id", "another partitioner"])
def test_a_record_not_on_its_numbers_partition_is_re_keyed_not_decided(key: bytes, partition: int) -> None:
    decider, _ = make_decider()
    plan = decider.plan([incoming(topics.LEAD_CAPTURED, lead(), key=key, partition=partition)], T0)

    [hop] = plan.outputs
    assert (hop.topic, hop.key) == (NUMBER_EVENTS, PHONE.encode())
    assert decoded(hop)["event"]["event_id"] == "lead-ev-1"
    assert plan.rows == {} and plan.decided == 0


def test_one_numbers_events_in_a_batch_are_decided_in_order_and_written_once() -> None:
    decider, tables = make_decider()
    batch = [incoming(topics.LEAD_CAPTURED, lead(), offset=0),
             incoming(topics.OPT_OUT, opt_out("stop-1", occurred_at=T0), offset=1)]
    plan = decider.plan(batch, T0)

    actions = [decoded(o)["action"] for o in plan.outputs if o.topic == topics.CALL_READY]
    assert actions == ["READY", "WITHDRAW"]  # the opt-out saw the lead the same batch offered
    assert sum(1 for table, _ in plan.rows if table == "leads") == 1
    assert tables.rows["leads"] == {}  # planning writes nothing: the agent writes after the sends
    assert plan.states[PHONE.encode()].suppressions.active[0].suppression_id == "stop-1"


def test_garbage_is_a_dead_letter_with_its_bytes_and_the_batch_goes_on() -> None:
    decider, _ = make_decider()
    garbage = Incoming(topics.LEAD_CAPTURED, HOME, 7, PHONE.encode(), b"\x00\x01garbage", 1.0)
    plan = decider.plan([garbage, incoming(topics.LEAD_CAPTURED, lead(), offset=8)], T0)

    letter = decoded(next(o for o in plan.outputs if o.topic == topics.DEAD_LETTER))
    assert (letter["value"], letter["offset"], letter["stage"]) == (b"\x00\x01garbage", 7, "decode")
    assert letter["value_truncated"] is False
    assert any(o.topic == topics.CALL_READY for o in plan.outputs)


def test_an_input_over_the_limit_is_dead_lettered_by_reference_without_decoding() -> None:
    decider, _ = make_decider()
    huge = b"\xc3\x01" + b"x" * MAX_INPUT_BYTES
    plan = decider.plan([Incoming(topics.OPT_OUT, HOME, 3, PHONE.encode(), huge, 1.0)], T0)

    [out] = plan.outputs
    letter = decoded(out)
    assert letter["stage"] == "size" and letter["value_truncated"] is True
    assert letter["value"] == huge[:DEAD_LETTER_HEAD_BYTES]
    assert (letter["value_size"], letter["value_sha256"]) == (len(huge), hashlib.sha256(huge).hexdigest())
    assert len(out.value or b"") < 4 * DEAD_LETTER_HEAD_BYTES


def test_a_bug_deciding_one_record_keeps_nothing_of_it_and_the_next_is_decided(
        monkeypatch: pytest.MonkeyPatch) -> None:
    decider, _ = make_decider()
    real = decider._decide

    def flaky(key: bytes, event: Any, *args: Any) -> None:
        if event["event"]["event_id"] == "lead-ev-bad":
            raise RuntimeError("a bug")
        real(key, event, *args)

    monkeypatch.setattr(decider, "_decide", flaky)
    plan = decider.plan([incoming(topics.LEAD_CAPTURED, lead("lead-ev-bad", "LB"), offset=0),
                         incoming(topics.LEAD_CAPTURED, lead("lead-ev-2", "L2"), offset=1)], T0)

    stages = [decoded(o)["stage"] for o in plan.outputs if o.topic == topics.DEAD_LETTER]
    assert stages == ["decide"]
    ready = [decoded(o) for o in plan.outputs if o.topic == topics.CALL_READY]
    assert [r["lead_id"] for r in ready] == ["L2"]


def test_a_lead_whose_email_was_seen_on_another_number_is_diverted_to_that_number() -> None:
    index = EmailIndex()
    decider, _ = make_decider(index=index)
    first = decider.plan([incoming(topics.LEAD_CAPTURED, lead())], T0)
    [row] = [o for o in first.outputs if o.topic == INDEX]  # the email is remembered, and sent on

    other = "+13052094412"
    second = {**lead("lead-ev-2", "L2"), "phone": other}
    plan = decider.plan([incoming(topics.LEAD_CAPTURED, second, key=other.encode(),
                                  partition=partition_of(other.encode()))], T0)

    [hop] = plan.outputs
    assert (hop.topic, hop.key) == (NUMBER_EVENTS, PHONE.encode())  # to the earlier lead's number
    assert decoded(hop)["duplicate_of"] == "L1"
    assert row.key is not None and len(index) == 1
