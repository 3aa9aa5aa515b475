"""Avro on the wire: single-object encoding (embedded default) and the Confluent wire format.

Both are Avro standards; both carry a schema reference in front of a schemaless Avro body::

    single-object   C3 01 | 8-byte little-endian CRC-64-AVRO fingerprint | body
    Confluent       00    | 4-byte big-endian registry schema id         | body

:class:`SchemaStore` loads ``schemas/**/*.avsc`` (the current schemas, keyed by stem such as
``lead-captured`` or ``internal/number-event``) and every released version under
``schemas/released/<version>/``, so bytes written by an older release still decode: the old writer
schema is resolved into the current reader schema. Decoding therefore always yields a record shaped
like the *current* schema.

Every failure to decode raises a :class:`~pipeline.errors.CodecError` (``DecodeError`` or
``UnknownSchemaError``) chained to its cause; callers dead-letter the record and keep flowing. A
record that does not fit its schema raises :class:`~pipeline.errors.EncodeError`. An unreachable
schema registry raises :class:`~pipeline.errors.BrokerError` with ``retriable=True``: that is an
outage, not bad input, so it must not send records to the dead-letter topic.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple, Protocol, cast

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, to_parsing_canonical_form

from pipeline.compiled_avro import CompiledSchema, compile_schema
from pipeline.config import WireFormat
from pipeline.errors import BrokerError, ConfigError, DecodeError, EncodeError, UnknownSchemaError

__all__ = [
    "CONFLUENT_MAGIC",
    "SINGLE_OBJECT_MAGIC",
    "Codec",
    "ConfluentCodec",
    "Decoded",
    "SchemaStore",
    "SingleObjectCodec",
    "WriterSchema",
    "default_schemas_dir",
    "make_codec",
    "subject_for",
]

SINGLE_OBJECT_MAGIC = b"\xc3\x01"
CONFLUENT_MAGIC = b"\x00"
_SINGLE_OBJECT_HEADER_LEN = 10  # magic (2) + fingerprint (8)
_CONFLUENT_HEADER_LEN = 5  # magic (1) + schema id (4)
_CURRENT = "current"
_RELEASED_DIR = "released"
_MAX_DETAIL = 300  # fastavro quotes whole schemas in some messages; the full text stays in __cause__


class Decoded(NamedTuple):
    """A decoded record and the stem of the current schema it now conforms to."""

    schema: str
    record: dict[str, Any]


class Codec(Protocol):
    """Turns records into wire bytes and back. Implementations are safe to share across agents."""

    def encode(self, schema: str, record: Mapping[str, object]) -> bytes:
        """Serialize ``record`` with the current schema ``schema`` (a stem); raise EncodeError."""
        ...

    def decode(self, data: bytes) -> Decoded:
        """Deserialize bytes in any framing this codec knows; raise a CodecError subclass."""
        ...


@dataclass(frozen=True, slots=True)
class WriterSchema:
    """A schema data may have been written with, and how to read it as the current schema."""

    stem: str
    """Stem of the current schema this data is read as."""
    version: str
    """``current``, a released version such as ``0.1.0``, or ``registry`` for a writer only the
    schema registry knew."""
    fingerprint: bytes
    """CRC-64-AVRO of the Parsing Canonical Form, little-endian, as single-object encoding writes it."""
    writer: dict[str, Any]
    """Parsed (fastavro) writer schema."""
    reader: dict[str, Any] | None
    """Parsed current schema when it differs from the writer; None when no resolution is needed."""
    compiled: CompiledSchema | None = None
    """The compiled reader of a current schema (``pipeline.compiled_avro``); fastavro reads the rest."""


def default_schemas_dir() -> Path:
    """``schemas/``: next to the ``pipeline`` package in a source tree (editable install), else where
    a wheel installs it (``<prefix>/share/leadpipe/schemas``, see ``[tool.setuptools.data-files]``)."""
    source_tree = Path(__file__).resolve().parent.parent / "schemas"
    if source_tree.is_dir():
        return source_tree
    return Path(sys.prefix) / "share" / "leadpipe" / "schemas"


def subject_for(stem: str) -> str:
    """Registry subject of a schema: ``<stem>-value``, '/' replaced by '-'.

    For public topics the stem is the topic name, so this is Confluent's TopicNameStrategy.
    """
    return stem.replace("/", "-") + "-value"


def _fingerprint(parsed: dict[str, Any]) -> bytes:
    return bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))


def _version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort ``0.10.0`` after ``0.9.0``; non-numeric parts sort after numeric ones."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-]", version))


def _brief(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


class SchemaStore:
    """Every schema leadpipe reads or writes: the current ones and every released version.

    Loaded once at start-up; a broken schema file raises :class:`ConfigError` naming the file.
    Immutable afterwards except for :meth:`writer_for`'s cache of registry writer schemas.
    """

    def __init__(self, directory: Path | str | None = None) -> None:
        root = Path(directory) if directory is not None else default_schemas_dir()
        if not root.is_dir():
            raise ConfigError(
                f"schema directory {root} not found: pass SchemaStore(path) when leadpipe is not run "
                "from its source tree"
            )
        self.directory = root
        self._parsed: dict[str, dict[str, Any]] = {}
        self._source: dict[str, str] = {}
        self._fingerprint: dict[str, bytes] = {}
        self._by_fingerprint: dict[bytes, WriterSchema] = {}
        self._stem_by_name: dict[str, str] = {}
        self._compiled: dict[str, CompiledSchema | None] = {}

        for stem, path in self._avsc_files(root, exclude=_RELEASED_DIR):
            parsed, source = self._load(path)
            fp = _fingerprint(parsed)
            name = parsed["name"]
            if name in self._stem_by_name:
                raise ConfigError(f"{path}: record {name} is already defined by {self._stem_by_name[name]}")
            self._parsed[stem], self._source[stem], self._fingerprint[stem] = parsed, source, fp
            self._stem_by_name[name] = stem
            self._compiled[stem] = compile_schema(source)
            self._by_fingerprint[fp] = WriterSchema(stem, _CURRENT, fp, parsed, None, self._compiled[stem])
        if not self._parsed:
            raise ConfigError(f"schema directory {root} holds no .avsc files")

        released_root = root / _RELEASED_DIR
        versions = sorted(
            (p.name for p in released_root.iterdir() if p.is_dir()) if released_root.is_dir() else (),
            key=_version_key,
        )
        self.released: tuple[str, ...] = tuple(versions)
        """Released versions found under ``released/``, oldest first."""
        for version in versions:
            for stem, path in self._avsc_files(released_root / version):
                # A released stem with no current schema is a removed topic: nothing reads it any
                # more (tests/test_schema_compat.py refuses such a removal).
                if stem not in self._parsed:
                    continue
                parsed, _ = self._load(path)
                fp = _fingerprint(parsed)
                # Unchanged since that release: the current entry already covers the fingerprint.
                if fp not in self._by_fingerprint:
                    self._by_fingerprint[fp] = WriterSchema(stem, version, fp, parsed, self._parsed[stem])
        self._registry_writers: dict[str, WriterSchema] = {}

    @staticmethod
    def _avsc_files(root: Path, exclude: str | None = None) -> list[tuple[str, Path]]:
        found = []
        for path in sorted(root.rglob("*.avsc")):
            relative = path.relative_to(root)
            if exclude is not None and relative.parts[0] == exclude:
                continue
            found.append((relative.with_suffix("").as_posix(), path))
        return found

    @staticmethod
    def _load(path: Path) -> tuple[dict[str, Any], str]:
        try:
            source = path.read_text(encoding="utf-8")
            parsed = parse_schema(json.loads(source))
        except Exception as exc:  # OSError, JSON errors, fastavro's SchemaParseException (no narrower base)
            raise ConfigError(f"{path}: not a valid Avro schema: {_brief(exc)}") from exc
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            raise ConfigError(f"{path}: top-level schema must be a record")
        return parsed, source

    @property
    def stems(self) -> tuple[str, ...]:
        """Stems of the current schemas, e.g. ``lead-captured``, ``internal/number-event``."""
        return tuple(self._parsed)

    def parsed(self, stem: str) -> dict[str, Any]:
        """The current schema ``stem``, parsed by fastavro."""
        try:
            return self._parsed[stem]
        except KeyError:
            raise KeyError(f"no schema {stem!r}; known: {', '.join(self._parsed)}") from None

    def compiled(self, stem: str) -> CompiledSchema | None:
        """The compiled writer and reader of the current schema ``stem``, or None (fastavro only)."""
        self.parsed(stem)
        return self._compiled[stem]

    def source(self, stem: str) -> str:
        """The current schema ``stem`` as the JSON text of its ``.avsc`` file."""
        self.parsed(stem)
        return self._source[stem]

    def fingerprint(self, stem: str) -> bytes:
        """8-byte little-endian CRC-64-AVRO fingerprint of the current schema ``stem``."""
        self.parsed(stem)
        return self._fingerprint[stem]

    def by_fingerprint(self, fp: bytes) -> WriterSchema | None:
        """The current or released schema with this fingerprint, or None."""
        return self._by_fingerprint.get(fp)

    def writer_for(self, schema_text: str) -> WriterSchema:
        """How to read data written with ``schema_text`` (e.g. fetched from a schema registry).

        A schema we know by fingerprint is read as its stem. An unknown writer whose top-level
        record has the full name of one of ours (a newer or foreign producer) is read through
        Avro schema resolution. Anything else raises :class:`UnknownSchemaError`.
        """
        cached = self._registry_writers.get(schema_text)
        if cached is not None:
            return cached
        try:
            parsed = parse_schema(json.loads(schema_text))
        except Exception as exc:  # fastavro's parse errors share no narrower base
            raise UnknownSchemaError(f"writer schema is not valid Avro: {_brief(exc)}") from exc
        if not isinstance(parsed, dict) or parsed.get("type") != "record":
            raise UnknownSchemaError(f"writer schema is not a record: {schema_text[:_MAX_DETAIL]}")
        fp = _fingerprint(parsed)
        writer = self._by_fingerprint.get(fp)
        if writer is None:
            name = parsed.get("name")
            stem = self._stem_by_name.get(name) if isinstance(name, str) else None
            if stem is None:
                raise UnknownSchemaError(
                    f"writer schema {name} (fingerprint {fp.hex()}) is none of leadpipe's records: "
                    f"{', '.join(self._stem_by_name)}"
                )
            writer = WriterSchema(stem, "registry", fp, parsed, self._parsed[stem])
        self._registry_writers[schema_text] = writer
        return writer


def _read(writer: WriterSchema, data: bytes, offset: int) -> Decoded:
    if writer.compiled is not None:
        compiled = writer.compiled.decode(data, offset)
        if compiled is not None:
            return Decoded(writer.stem, compiled)
    fo = BytesIO(data)
    fo.seek(offset)
    try:
        record = schemaless_reader(fo, writer.writer, writer.reader)
    except OverflowError as exc:  # a timestamp-millis a writer accepted but no datetime can hold
        raise DecodeError(
            f"a {writer.stem} record (writer {writer.version}) with a value out of range, such as an instant "
            f"outside years 1-9999 in UTC: {_brief(exc)}"
        ) from exc
    except Exception as exc:  # untrusted bytes: fastavro fails with many unrelated exception types
        raise DecodeError(
            f"body is not valid Avro for {writer.stem} (writer {writer.version}): {_brief(exc)}"
        ) from exc
    if fo.tell() != len(data):
        raise DecodeError(
            f"{len(data) - fo.tell()} trailing bytes after a {writer.stem} record (writer {writer.version}): "
            "corrupt or written with another schema"
        )
    return Decoded(writer.stem, cast(dict[str, Any], record))


def _write(schema: str, parsed: dict[str, Any], header: bytes, record: Mapping[str, object],
           compiled: CompiledSchema | None) -> bytes:
    if compiled is not None:
        data = compiled.encode(header, record)
        if data is not None:
            return data
    fo = BytesIO()
    fo.write(header)
    try:
        # strict_allow_default: a misspelt or missing field is a bug, not something to drop silently.
        schemaless_writer(fo, parsed, record, strict_allow_default=True)
    except Exception as exc:  # fastavro reports misfits as TypeError, ValueError, OverflowError...
        raise EncodeError(f"record does not fit schema {schema!r}: {_brief(exc)}") from exc
    return fo.getvalue()


class _Registry:
    """A schema registry client with the two caches the codecs need (ids never change meaning)."""

    def __init__(self, store: SchemaStore, client: SchemaRegistryClient) -> None:
        self._store = store
        self._client = client
        self._writers: dict[int, WriterSchema] = {}
        self._headers: dict[str, bytes] = {}

    def header(self, stem: str) -> bytes:
        """Confluent header for ``stem``, registering the schema under its subject the first time."""
        header = self._headers.get(stem)
        if header is None:
            header = self._register(stem)
        return header

    def _register(self, stem: str) -> bytes:
        try:
            source = self._store.source(stem)
        except KeyError as exc:
            raise EncodeError(str(exc.args[0])) from None
        subject = subject_for(stem)
        try:
            schema_id = self._client.register_schema(subject, Schema(source, "AVRO"))
        except SchemaRegistryError as exc:
            if exc.http_status_code in (409, 422):
                raise EncodeError(f"schema registry refused {stem} under subject {subject}: {exc}") from exc
            raise BrokerError(f"schema registry failed registering {subject}: {exc}", retriable=True) from exc
        except Exception as exc:  # transport errors (httpx, OSError) come through unwrapped
            raise BrokerError(
                f"schema registry unreachable registering {subject}: {_brief(exc)}", retriable=True
            ) from exc
        # Our own records decode without a round trip to the registry.
        current = self._store.by_fingerprint(self._store.fingerprint(stem))
        if current is not None:
            self._writers.setdefault(schema_id, current)
        header = CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")
        self._headers[stem] = header
        return header

    def writer(self, schema_id: int) -> WriterSchema:
        """The writer schema registered as ``schema_id``, fetched once."""
        writer = self._writers.get(schema_id)
        if writer is not None:
            return writer
        try:
            schema = self._client.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise UnknownSchemaError(f"schema id {schema_id} is not in the schema registry") from exc
            raise BrokerError(
                f"schema registry failed on schema id {schema_id}: {exc}", retriable=True
            ) from exc
        except Exception as exc:  # transport errors (httpx, OSError) come through unwrapped
            raise BrokerError(
                f"schema registry unreachable fetching schema id {schema_id}: {_brief(exc)}", retriable=True
            ) from exc
        if schema.schema_type not in (None, "AVRO"):
            raise UnknownSchemaError(f"schema id {schema_id} is {schema.schema_type}, not Avro")
        if schema.references:
            raise UnknownSchemaError(
                f"schema id {schema_id} uses schema references; leadpipe's schemas are self-contained"
            )
        try:
            writer = self._store.writer_for(schema.schema_str or "")
        except UnknownSchemaError as exc:
            raise UnknownSchemaError(f"schema id {schema_id}: {exc}") from exc
        self._writers[schema_id] = writer
        return writer


class _AvroCodec:
    """Decoding shared by both codecs: single-object always, Confluent when a registry is known."""

    def __init__(self, store: SchemaStore, registry: _Registry | None) -> None:
        self.store = store
        self._registry = registry
        self._by_fingerprint = store._by_fingerprint  # hot path: one dict lookup per record

    def decode(self, data: bytes) -> Decoded:
        if data[:2] == SINGLE_OBJECT_MAGIC:
            writer = self._by_fingerprint.get(data[2:_SINGLE_OBJECT_HEADER_LEN])
            if writer is None:
                if len(data) < _SINGLE_OBJECT_HEADER_LEN:
                    raise DecodeError(f"single-object header truncated: {len(data)} bytes")
                raise UnknownSchemaError(
                    f"single-object fingerprint {data[2:_SINGLE_OBJECT_HEADER_LEN].hex()} is not a current "
                    f"or released leadpipe schema (released: {', '.join(self.store.released) or 'none'})"
                )
            return _read(writer, data, _SINGLE_OBJECT_HEADER_LEN)
        if data[:1] == CONFLUENT_MAGIC:
            if len(data) < _CONFLUENT_HEADER_LEN:
                raise DecodeError(f"Confluent header truncated: {len(data)} bytes")
            schema_id = int.from_bytes(data[1:_CONFLUENT_HEADER_LEN], "big")
            if self._registry is None:
                raise UnknownSchemaError(
                    f"Confluent-framed record (schema id {schema_id}) needs a schema registry: "
                    "set LEADPIPE_SCHEMA_REGISTRY_URL"
                )
            return _read(self._registry.writer(schema_id), data, _CONFLUENT_HEADER_LEN)
        if not data:
            raise DecodeError("empty value: no Avro framing (a tombstone?)")
        raise DecodeError(
            f"unknown framing {bytes(data[:2]).hex()}: neither Avro single-object (c301) nor Confluent (00)"
        )


class SingleObjectCodec(_AvroCodec):
    """Avro single-object encoding; the embedded default, no registry needed.

    Given a registry client it also decodes Confluent-framed records (and still writes single-object).
    """

    def __init__(self, store: SchemaStore, registry: SchemaRegistryClient | None = None) -> None:
        super().__init__(store, _Registry(store, registry) if registry is not None else None)
        self._encoders = {stem: (store.parsed(stem), SINGLE_OBJECT_MAGIC + store.fingerprint(stem),
                                 store.compiled(stem)) for stem in store.stems}

    def encode(self, schema: str, record: Mapping[str, object]) -> bytes:
        encoder = self._encoders.get(schema)
        if encoder is None:
            raise EncodeError(f"no schema {schema!r}; known: {', '.join(self._encoders)}")
        return _write(schema, encoder[0], encoder[1], record, encoder[2])


class ConfluentCodec(_AvroCodec):
    """Confluent wire format against a schema registry; decodes single-object framing too.

    Each schema is registered under :func:`subject_for` on first use (or by :meth:`register`).
    """

    def __init__(self, store: SchemaStore, client: SchemaRegistryClient) -> None:
        registry = _Registry(store, client)
        super().__init__(store, registry)
        self._registry_for_encode = registry
        self._parsed = {stem: store.parsed(stem) for stem in store.stems}
        self._compiled = {stem: store.compiled(stem) for stem in store.stems}

    def register(self, stems: Iterable[str] | None = None) -> dict[str, int]:
        """Register ``stems`` (default: all) now, so a registry problem shows at start-up.

        Returns the schema id of each stem.
        """
        ids = {}
        for stem in self._parsed if stems is None else stems:
            ids[stem] = int.from_bytes(self._registry_for_encode.header(stem)[1:], "big")
        return ids

    def encode(self, schema: str, record: Mapping[str, object]) -> bytes:
        parsed = self._parsed.get(schema)
        if parsed is None:
            raise EncodeError(f"no schema {schema!r}; known: {', '.join(self._parsed)}")
        return _write(schema, parsed, self._registry_for_encode.header(schema), record, self._compiled[schema])


def make_codec(settings: WireFormat, store: SchemaStore | None = None) -> Codec:
    """The codec ``settings`` asks for: single-object without a registry URL, else Confluent.

    ``mock://`` URLs get confluent-kafka's in-memory registry, which lives inside that one client:
    build one codec per process and share it.
    """
    store = store if store is not None else SchemaStore()
    if settings.schema_registry_url is None:
        return SingleObjectCodec(store)
    client = SchemaRegistryClient.new_client({"url": settings.schema_registry_url})
    return ConfluentCodec(store, client)
