"""pipeline.codec: both Avro wire formats, schema evolution, and failure as data (CodecError only)."""

from __future__ import annotations

import io
import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import avro.schema
import fastavro
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.codec import (
    Codec,
    ConfluentCodec,
    Decoded,
    SchemaStore,
    SingleObjectCodec,
    default_schemas_dir,
    make_codec,
    subject_for,
)
from pipeline.config import Settings
from pipeline.errors import BrokerError, CodecError, ConfigError, DecodeError, EncodeError, UnknownSchemaError

T0 = datetime(2024, 5, 1, 14, 30, 15, 123000, tzinfo=UTC)  # millisecond precision: timestamp-millis
STORE = SchemaStore()

CONSENT = {
    "purpose": "marketing", "channel": "AUTODIALED_VOICE", "granted_at": T0 - timedelta(minutes=1),
    "form_url": "https://acme.example/solar", "consent_text": "I agree to receive calls.",
    "certificate_id": "TF-3f2a", "ip": "203.0.113.7", "expires_at": T0 + timedelta(days=90),
}
BREAKDOWN = [{"rule_id": "homeowner", "points": 20.0, "detail": "homeowner=yes"},
             {"rule_id": "fresh", "points": 5.5, "detail": None}]
REASONS = [{"code": "WINDOW_OPEN", "rule_id": "us.tcpa.hours", "detail": "08:00-21:00 America/New_York"}]
LEAD = {
    "event_id": "ev-lead-1", "occurred_at": T0, "lead_id": "L-1", "source": "webform-acme",
    "campaign_id": "solar-fl", "phone": "(305) 555-0142", "country": "US", "first_name": "Ana",
    "last_name": "López", "email": "ana@example.com",
    "address": {"street": "1 Main St", "city": "Miami", "region": "FL", "postal_code": "33101",
                "country": "US"},
    "consent": CONSENT, "attributes": {"homeowner": "yes", "roof_age": "5"},
}
OPT_OUT = {
    "event_id": "ev-optout-1", "occurred_at": T0, "phone": "+13055550142", "country": None, "action": "ADD",
    "scope": "CAMPAIGN", "category": "TEMPORARY", "campaign_id": "solar-fl",
    "expires_at": T0 + timedelta(days=30), "source": "agent-7", "reason": "not now", "evidence": "rec-991",
}
CONSENT_CHANGED = {
    "event_id": "ev-consent-1", "occurred_at": T0, "phone": "3055550142", "country": "US", "action": "REVOKE",
    "purpose": "*", "channel": "SMS", "channel_specific": True, "source": "sms-stop", "proof": CONSENT,
}
CALL_OUTCOME = {
    "event_id": "ev-outcome-1", "occurred_at": T0, "lead_id": "L-1", "phone": "+13055550142", "country": "US",
    "campaign_id": "solar-fl", "outcome": "CALLBACK_REQUESTED", "agent_id": "agent-7",
    "notes": "call after 6", "callback_at": T0 + timedelta(hours=4), "dnc_scope": None,
    "answers": {"budget": "200"}, "tags": ["evening"],
    "contact_name": "Ana López", "contact_role": "owner", "title": None, "best_time_to_call": "after 6 pm",
    "callback_notes": "call after 6, ask for Ana",
}
SAMPLES: dict[str, dict[str, Any]] = {
    "lead-captured": LEAD,
    "opt-out": OPT_OUT,
    "consent-changed": CONSENT_CHANGED,
    "call-outcome": CALL_OUTCOME,
    "call-ready": {
        "event_id": "ev-ready-1", "occurred_at": T0, "action": "READY", "phone_e164": "+13055550142",
        "lead_id": "L-1", "campaign_id": "solar-fl", "priority": 7, "score": 25.5,
        "score_breakdown": BREAKDOWN, "callable_from": T0, "callable_until": T0 + timedelta(hours=6),
        "seconds_left": 21600,
        "time_zones": ["America/New_York"], "reasons": REASONS, "decision_id": "dec-1",
        "rule_pack_version": "2024.05",
        "callback": {"requested_at": T0, "promised_by_agent": "agent-7", "notes": "call after 6"},
    },
    "lead-decision": {
        "event_id": "ev-dec-1", "occurred_at": T0, "decision_id": "dec-1", "input_event_id": "ev-lead-1",
        "input_topic": "lead-captured", "lead_id": "L-1", "campaign_id": "solar-fl", "source": "webform-acme",
        "phone": "(305) 555-0142", "phone_e164": "+13055550142", "region": "US", "number_type": "MOBILE",
        "time_zones": ["America/New_York"], "outcome": "CALL_READY", "reasons": REASONS,
        "rules_fired": ["us.tcpa.hours"], "score": 25.5, "score_breakdown": BREAKDOWN, "callable_from": T0,
        "callable_until": T0 + timedelta(hours=6), "rule_pack_version": "2024.05", "decided_at": T0,
        "lead_status": "IN_PROGRESS", "attempts": 2,
        "quality_flags": ["EMAIL_TEST"],
    },
    "qualified-lead": {
        "event_id": "ev-q-1", "occurred_at": T0, "lead_id": "L-1", "phone_e164": "+13055550142",
        "campaign_id": "solar-fl", "source": "webform-acme", "first_name": "Ana", "last_name": "López",
        "email": "ana@example.com", "agent_id": "agent-7", "outcome": "APPOINTMENT_SET", "notes": "Tue 10:00",
        "answers": {"budget": "200"}, "score": 25.5, "score_breakdown": BREAKDOWN,
        "captured_at": T0 - timedelta(days=1), "consent_certificate_id": "TF-3f2a",
        "outcome_event_id": "ev-outcome-1",
        "contact_name": "Ana López", "contact_role": "owner", "next_step": "site_visit", "tags": ["hot"],
        "qualification": [{"criterion": "budget", "answer_key": "budget", "answer": "200", "result": "FAIL"}],
        "score_history": [{"decided_at": T0, "score": 25.5, "decision_id": "dec-1", "outcome": "CALL_READY"}],
        "consent_form_url": "https://example.com/quote", "consent_text": "I agree.",
        "consent_granted_at": T0 - timedelta(days=1), "attempts": 3,
        "title": "Head of facilities", "best_time_to_call": "weekday mornings", "lead_status": "QUALIFIED",
    },
    "dead-letter": {
        "event_id": "ev-dl-1", "occurred_at": T0, "topic": "lead-captured", "partition": 3, "offset": 2**40,
        "key": b"\x00\xffkey", "value": b"\xc3\x01not avro", "stage": "decode", "error_type": "DecodeError",
        "error": "unknown framing", "value_size": 10, "value_sha256": "ab" * 32, "value_truncated": False,
    },
    "dial-check": {
        "event_id": "req-1", "occurred_at": T0, "request_id": "req-1", "call_id": "call-9", "lead_id": "L-1",
        "phone_e164": "+13055550142", "campaign_id": "solar-fl", "channel": "AUTODIALED_VOICE",
        "purpose": "marketing", "at": T0, "allowed": True, "reasons": REASONS, "rules_fired": ["us.tcpa.hours"],
        "seconds_left": 21600, "callable_from": T0, "callable_until": T0 + timedelta(hours=6), "state_as_of": T0,
        "state_note": "today's state", "rule_pack_version": "2024.05", "worker_id": "host:6066:4242",
    },
    "internal/number-event": {
        "phone": {"phone_e164": "+13055550142", "region": "US", "number_type": "MOBILE",
                  "time_zones": ["America/New_York"], "area_code_region": "FL", "carrier": None,
                  "line_type": "MOBILE", "area_code_location": "Florida"},
        "input_topic": "lead-captured", "input_partition": 1, "input_offset": 42, "event": LEAD,
        "duplicate_of": None,
    },
}


def _mock_registry() -> SchemaRegistryClient:
    # SchemaRegistryClient({"url": "mock://"}) would try HTTP; new_client returns the in-memory mock.
    client = SchemaRegistryClient.new_client({"url": "mock://leadpipe-test"})
    assert isinstance(client, MockSchemaRegistryClient)
    return client


def _codecs() -> list[tuple[str, Codec]]:
    return [("single-object", SingleObjectCodec(STORE)),
            ("confluent", ConfluentCodec(STORE, _mock_registry()))]


# -- the store ---------------------------------------------------------------------------------

def test_store_loads_every_current_schema_and_the_first_release() -> None:
    assert set(STORE.stems) == set(SAMPLES)
    assert "0.1.0" in STORE.released
    assert STORE.directory == default_schemas_dir()


def _crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO exactly as the Avro specification spells it out (independent of fastavro)."""
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp


def test_crc64_avro_matches_the_specification_test_vector() -> None:
    assert _crc64_avro(b'"null"') == 7195948357588979594  # from Avro's schema-tests.txt (Java)


@pytest.mark.parametrize("stem", sorted(SAMPLES))
def test_fingerprint_is_little_endian_crc64_avro_of_the_parsing_canonical_form(stem: str) -> None:
    # The avro package keeps {"type":"long"} where a logical type was; the specification strips the
    # logicalType attribute and writes the primitive's simple form "long", as Java and fastavro do.
    canonical = avro.schema.parse(STORE.source(stem)).canonical_form.replace('{"type":"long"}', '"long"')
    assert STORE.fingerprint(stem) == _crc64_avro(canonical.encode()).to_bytes(8, "little")
    known = STORE.by_fingerprint(STORE.fingerprint(stem))
    assert known is not None
    assert (known.stem, known.version, known.reader) == (stem, "current", None)


def test_store_rejects_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        SchemaStore(tmp_path / "nowhere")


def test_store_names_a_broken_schema_file(tmp_path: Path) -> None:
    (tmp_path / "lead-captured.avsc").write_text('{"type": "record", "name": "X", "fields": [{"name": "a"}]}')
    with pytest.raises(ConfigError, match=r"lead-captured\.avsc"):
        SchemaStore(tmp_path)


def test_subject_follows_the_topic_name_strategy() -> None:
    assert subject_for("lead-captured") == "lead-captured-value"
    assert subject_for("internal/number-event") == "internal-number-event-value"


def test_make_codec_follows_settings() -> None:
    assert isinstance(make_codec(Settings(), STORE), SingleObjectCodec)
    assert isinstance(make_codec(Settings(schema_registry_url="mock://leadpipe-test"), STORE), ConfluentCodec)


# -- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("stem", sorted(SAMPLES))
def test_single_object_round_trip(stem: str) -> None:
    codec = SingleObjectCodec(STORE)
    data = codec.encode(stem, SAMPLES[stem])
    assert data[:2] == b"\xc3\x01"
    assert data[2:10] == STORE.fingerprint(stem)
    assert codec.decode(data) == Decoded(stem, SAMPLES[stem])


@pytest.mark.parametrize("stem", sorted(SAMPLES))
def test_confluent_round_trip(stem: str) -> None:
    client = _mock_registry()
    codec = ConfluentCodec(STORE, client)
    data = codec.encode(stem, SAMPLES[stem])
    assert data[:1] == b"\x00"
    schema_id = int.from_bytes(data[1:5], "big")
    assert client.get_latest_version(subject_for(stem)).schema_id == schema_id
    assert client.get_schema(schema_id).schema_str == STORE.source(stem)
    assert codec.decode(data) == Decoded(stem, SAMPLES[stem])
    # A second codec on the same registry has no cache: it fetches the writer schema by id.
    assert ConfluentCodec(STORE, client).decode(data) == Decoded(stem, SAMPLES[stem])


def test_confluent_registers_each_schema_once() -> None:
    client = _mock_registry()
    codec = ConfluentCodec(STORE, client)
    first = codec.encode("opt-out", OPT_OUT)
    assert codec.encode("opt-out", OPT_OUT) == first
    assert client.get_versions(subject_for("opt-out")) == [1]
    ids = codec.register()
    assert set(ids) == set(STORE.stems)
    assert ids["opt-out"] == int.from_bytes(first[1:5], "big")


def test_confluent_framed_record_decodes_through_a_codec_that_has_the_registry() -> None:
    client = _mock_registry()
    data = ConfluentCodec(STORE, client).encode("lead-captured", LEAD)
    assert SingleObjectCodec(STORE, registry=client).decode(data) == Decoded("lead-captured", LEAD)


def test_confluent_framing_without_a_registry_says_it_needs_one() -> None:
    data = ConfluentCodec(STORE, _mock_registry()).encode("lead-captured", LEAD)
    with pytest.raises(UnknownSchemaError, match="needs a schema registry"):
        SingleObjectCodec(STORE).decode(data)


def test_confluent_codec_decodes_single_object_records_of_a_topic_mid_migration() -> None:
    data = SingleObjectCodec(STORE).encode("call-outcome", CALL_OUTCOME)
    assert ConfluentCodec(STORE, _mock_registry()).decode(data) == Decoded("call-outcome", CALL_OUTCOME)


@pytest.mark.parametrize("event", [LEAD, OPT_OUT, CONSENT_CHANGED, CALL_OUTCOME],
                         ids=["lead", "opt-out", "consent", "outcome"])
def test_number_event_carries_each_input_event_in_its_own_union_branch(event: dict[str, Any]) -> None:
    record = {**SAMPLES["internal/number-event"], "event": event}
    for _, codec in _codecs():
        assert codec.decode(codec.encode("internal/number-event", record)).record == record


def test_number_event_branch_can_be_named_explicitly() -> None:
    # ("<full name>", record) skips fastavro's trial validation of every branch: 2-4x faster to encode.
    codec = SingleObjectCodec(STORE)
    record = {**SAMPLES["internal/number-event"], "event": OPT_OUT}
    named = {**record, "event": ("io.leadpipe.OptOut", OPT_OUT)}
    assert codec.encode("internal/number-event", named) == codec.encode("internal/number-event", record)
    assert codec.decode(codec.encode("internal/number-event", named)).record == record


def test_timestamps_come_back_as_aware_utc_datetimes_truncated_to_milliseconds() -> None:
    codec = SingleObjectCodec(STORE)
    paris = timezone(timedelta(hours=2))
    sent = {**OPT_OUT, "occurred_at": datetime(2024, 5, 1, 16, 30, 15, 123456, tzinfo=paris)}
    got = codec.decode(codec.encode("opt-out", sent)).record["occurred_at"]
    assert got == datetime(2024, 5, 1, 14, 30, 15, 123000, tzinfo=UTC)
    assert got.tzinfo == UTC


def test_defaults_fill_fields_left_out_at_encode() -> None:
    codec = SingleObjectCodec(STORE)
    minimal = {"event_id": "e", "occurred_at": T0, "phone": "+13055550142", "source": "form"}
    got = codec.decode(codec.encode("opt-out", minimal)).record
    assert (got["action"], got["scope"], got["category"], got["expires_at"]) == ("ADD", "ALL_CHANNELS",
                                                                                  "PERMANENT", None)


# -- schema evolution --------------------------------------------------------------------------

def _store_with_old_lead_schema(tmp_path: Path) -> tuple[SchemaStore, dict[str, Any]]:
    """A schema tree whose release 0.0.9 of lead-captured lacked two fields that now have defaults."""
    root = tmp_path / "schemas"
    shutil.copytree(default_schemas_dir(), root, ignore=shutil.ignore_patterns("released"))
    old = json.loads((root / "lead-captured.avsc").read_text(encoding="utf-8"))
    old["fields"] = [f for f in old["fields"] if f["name"] not in ("email", "attributes")]
    (root / "released" / "0.0.9").mkdir(parents=True)
    (root / "released" / "0.0.9" / "lead-captured.avsc").write_text(json.dumps(old), encoding="utf-8")
    return SchemaStore(root), old


def test_record_written_with_a_released_schema_decodes_into_the_current_one(tmp_path: Path) -> None:
    store, old = _store_with_old_lead_schema(tmp_path)
    assert store.released == ("0.0.9",)
    old_parsed = fastavro.parse_schema(old)
    old_fp = bytes.fromhex(fastavro.schema.fingerprint(fastavro.schema.to_parsing_canonical_form(old_parsed),
                                                       "CRC-64-AVRO"))
    assert old_fp != store.fingerprint("lead-captured")
    body = io.BytesIO()
    old_record = {k: v for k, v in LEAD.items() if k not in ("email", "attributes")}
    fastavro.schemaless_writer(body, old_parsed, old_record)

    decoded = SingleObjectCodec(store).decode(b"\xc3\x01" + old_fp + body.getvalue())

    assert decoded == Decoded("lead-captured", {**old_record, "email": None, "attributes": {}})


CHANGED_SINCE_0_1_0 = {"internal/number-event", "opt-out", "lead-decision", "qualified-lead", "call-outcome",
                       "call-ready", "dead-letter"}
# number-event: ReleaseDue branch, line type, area-code location, duplicate_of, call-outcome's fields;
# opt-out: ERASE action; lead-decision: quality_flags, CLOSED, IGNORED_CLOSED, lead_status, attempts;
# qualified-lead: CRM context (lifecycle), title, best_time_to_call, lead_status; call-outcome: contact
# name, role, title, best time to call, callback notes; call-ready: the callback promise; dead-letter:
# value_size, value_sha256, value_truncated (originals too big to copy, by reference)
NEW_SINCE_0_1_0 = {"dial-check"}  # the dial-check audit topic (issue 10)


def test_unchanged_release_shares_the_current_fingerprint() -> None:
    # Schemas unchanged since 0.1.0 have the same bytes, read without resolution.
    released = SchemaStore(default_schemas_dir() / "released" / "0.1.0")
    for stem in STORE.stems:
        if stem in NEW_SINCE_0_1_0:
            assert stem not in released.stems
        elif stem in CHANGED_SINCE_0_1_0:
            assert released.fingerprint(stem) != STORE.fingerprint(stem)
        else:
            assert released.fingerprint(stem) == STORE.fingerprint(stem)


def test_a_number_event_written_with_release_0_1_0_decodes_into_the_current_schema() -> None:
    released = SchemaStore(default_schemas_dir() / "released" / "0.1.0")
    old = SingleObjectCodec(released)
    record = {"phone": {"phone_e164": "+13052094411", "region": "US", "number_type": "FIXED_LINE_OR_MOBILE",
                        "time_zones": ["America/New_York"], "area_code_region": "FL", "carrier": None},
              "input_topic": "opt-out", "input_partition": 1, "input_offset": 7,
              "event": ("io.leadpipe.OptOut", OPT_OUT)}
    decoded = SingleObjectCodec(STORE).decode(old.encode("internal/number-event", record))
    assert decoded.schema == "internal/number-event"
    assert decoded.record["event"] == OPT_OUT


def test_newer_writer_known_only_to_the_registry_is_read_by_record_name() -> None:
    client = _mock_registry()
    newer = json.loads(STORE.source("opt-out"))
    newer["fields"].append({"name": "channel_hint", "type": ["null", "string"], "default": None})
    schema_id = client.register_schema(subject_for("opt-out"), Schema(json.dumps(newer), "AVRO"))
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(newer), {**OPT_OUT, "channel_hint": "sms"})
    data = b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()
    assert ConfluentCodec(STORE, client).decode(data) == Decoded("opt-out", OPT_OUT)


# -- encode errors -----------------------------------------------------------------------------

@pytest.mark.parametrize(("record", "detail"), [
    ({k: v for k, v in OPT_OUT.items() if k != "source"}, "source"),
    ({**OPT_OUT, "source": 7}, "source"),
    ({**OPT_OUT, "scope": "EVERYWHERE"}, "EVERYWHERE"),
    ({**OPT_OUT, "sourse": "typo"}, "sourse"),
    ({**OPT_OUT, "occurred_at": "yesterday"}, "occurred_at"),
    ({**OPT_OUT, "occurred_at": 2**80}, "OverflowError"),
], ids=["missing", "wrong-type", "bad-enum", "unknown-field", "bad-timestamp", "overflow"])
def test_a_record_that_does_not_fit_raises_encode_error_naming_the_schema(record: dict[str, Any],
                                                                         detail: str) -> None:
    for _, codec in _codecs():
        with pytest.raises(EncodeError, match="'opt-out'") as caught:
            codec.encode("opt-out", record)
        assert detail in str(caught.value)
        assert caught.value.__cause__ is not None


def test_encoding_with_an_unknown_schema_is_an_encode_error() -> None:
    for _, codec in _codecs():
        with pytest.raises(EncodeError, match="no schema 'leads'"):
            codec.encode("leads", LEAD)


# -- decode errors -----------------------------------------------------------------------------

GOOD = SingleObjectCodec(STORE).encode("lead-captured", LEAD)


@pytest.mark.parametrize(("data", "error", "message"), [
    (b"", DecodeError, "empty"),
    (b"{\"phone\": \"+1305\"}", DecodeError, "unknown framing"),
    (b"\x01\x02\x03", DecodeError, "unknown framing"),
    (b"\xc3", DecodeError, "unknown framing"),
    (b"\xc3\x01\x12\x34", DecodeError, "truncated"),
    (b"\xc3\x01" + b"\x00" * 8 + GOOD[10:], UnknownSchemaError, "fingerprint 0000000000000000"),
    (GOOD[:10], DecodeError, "not valid Avro for lead-captured"),
    (GOOD[:-3], DecodeError, "not valid Avro for lead-captured"),
    (GOOD + b"\x00", DecodeError, "1 trailing bytes"),
    (GOOD[:10] + b"\xff" * 40, DecodeError, "not valid Avro"),
    (b"\x00\x00\x00", DecodeError, "truncated"),
    (b"\x00\x00\x00\x00\x01\x02", UnknownSchemaError, "schema id 1"),
], ids=["empty", "json", "garbage", "half-magic", "short-header", "unknown-fingerprint", "no-body",
        "truncated-body", "trailing-bytes", "garbage-body", "short-confluent-header", "no-registry"])
def test_undecodable_bytes_raise_a_codec_error(data: bytes, error: type[CodecError], message: str) -> None:
    with pytest.raises(error, match=message):
        SingleObjectCodec(STORE).decode(data)


def test_decode_error_is_chained_to_the_avro_failure() -> None:
    with pytest.raises(DecodeError) as caught:
        SingleObjectCodec(STORE).decode(GOOD[:-3])
    assert isinstance(caught.value.__cause__, EOFError)


def test_unknown_registry_id_is_unknown_schema() -> None:
    with pytest.raises(UnknownSchemaError, match="schema id 999 is not in the schema registry"):
        ConfluentCodec(STORE, _mock_registry()).decode(b"\x00" + (999).to_bytes(4, "big") + b"\x02")


def test_foreign_registry_schema_is_unknown_schema() -> None:
    client = _mock_registry()
    foreign = {"type": "record", "name": "Invoice", "namespace": "com.example",
               "fields": [{"name": "id", "type": "string"}]}
    schema_id = client.register_schema("invoice-value", Schema(json.dumps(foreign), "AVRO"))
    with pytest.raises(UnknownSchemaError, match="Invoice"):
        ConfluentCodec(STORE, client).decode(b"\x00" + schema_id.to_bytes(4, "big") + b"\x02x")


class _DownRegistry:
    """A registry client whose every call fails the way an unreachable server does."""

    def get_schema(self, schema_id: int) -> Schema:
        raise ConnectionRefusedError("connection refused")

    def register_schema(self, subject_name: str, schema: Schema) -> int:
        raise SchemaRegistryError(503, 50301, "unavailable")


def test_registry_outage_is_a_retriable_broker_error_not_bad_input() -> None:
    codec = ConfluentCodec(STORE, _DownRegistry())  # type: ignore[arg-type]
    with pytest.raises(BrokerError) as decoding:
        codec.decode(b"\x00\x00\x00\x00\x07\x02")
    with pytest.raises(BrokerError) as encoding:
        codec.encode("opt-out", OPT_OUT)
    assert decoding.value.retriable and encoding.value.retriable
    assert not isinstance(decoding.value, CodecError)


# Random bytes, random bodies behind valid headers, and damaged valid records: decode either
# succeeds or raises a CodecError subclass, never fastavro's own exceptions.

_FUZZ_REGISTRY = _mock_registry()
_FUZZ_CODEC = ConfluentCodec(STORE, _FUZZ_REGISTRY)
_VALID = [_FUZZ_CODEC.encode(stem, record) for stem, record in SAMPLES.items()]
_VALID += [SingleObjectCodec(STORE).encode(stem, record) for stem, record in SAMPLES.items()]
_HEADERS = sorted({data[:10] for data in _VALID if data[:2] == b"\xc3\x01"}
                  | {data[:5] for data in _VALID if data[:1] == b"\x00"})


def _decode_or_codec_error(data: bytes) -> None:
    try:
        decoded = _FUZZ_CODEC.decode(data)
    except CodecError:
        return
    assert decoded.schema in STORE.stems


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=64))
def test_random_bytes_never_raise_anything_but_codec_errors(data: bytes) -> None:
    _decode_or_codec_error(data)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_HEADERS), st.binary(max_size=300))
def test_random_bodies_behind_valid_headers_never_raise_anything_but_codec_errors(header: bytes,
                                                                                  body: bytes) -> None:
    _decode_or_codec_error(header + body)


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_VALID), st.data())
def test_damaged_records_never_raise_anything_but_codec_errors(valid: bytes, data: st.DataObject) -> None:
    damaged = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    _decode_or_codec_error(bytes(damaged[:cut]))


def test_fuzz_corpus_itself_decodes() -> None:
    for data in _VALID:
        schema, record = _FUZZ_CODEC.decode(data)
        assert record == SAMPLES[schema]
