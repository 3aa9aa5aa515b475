"""Avro writers and readers compiled from leadpipe's own schemas: fastavro's bytes and records, faster.

fastavro interprets a schema for every record: for each field it looks up the field's type and
dispatches, which costs it 1-2 µs a field here — more than the pure core spends deciding a lead. This
module turns each schema, once, into Python functions that write (or read) exactly that schema's
fields in order, with the type decisions made ahead of time. :class:`pipeline.codec.SingleObjectCodec`
and :class:`~pipeline.codec.ConfluentCodec` use them for the current schemas and keep fastavro for
everything else.

The compiled code only handles what it fully understands, and hands anything else back (``None``)
so the caller uses fastavro, which then encodes, decodes or fails exactly as it always did:

- writing: a record whose fields are not exactly its schema's (missing fields with defaults, extra
  fields), a value of an unexpected Python type, a union value with several non-null branches that
  does not name its branch (``(name, value)``), an integer outside its Avro range, a naive datetime;
- reading: anything but a well-formed encoding as leadpipe writes it — an index out of range, a
  negative length or block count, a boolean byte other than 0 or 1, a varint longer than ten bytes,
  a body cut short or followed by trailing bytes — and every writer schema other than the current one.

So where the compiled code answers, it answers what fastavro answers: the same bytes for a record, the
same record (dicts in schema field order, UTC datetimes for ``timestamp-millis``) for bytes.
``tests/test_compiled_avro.py`` holds this against fastavro for every schema.

The functions are generated as Python source and compiled with ``exec`` (as ``dataclasses`` does):
their source comes from the schema files shipped with leadpipe, never from a record.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["CompiledSchema", "compile_schema"]

Writer = Callable[[Mapping[str, object], bytearray], None]
Reader = Callable[[bytes, int], tuple[dict[str, Any], int]]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


class _Unhandled(Exception):
    """The compiled code does not handle this value or these bytes: fastavro decides."""


class CompiledSchema:
    """The compiled writer and reader of one schema."""

    def __init__(self, write: Writer, read: Reader, source: str) -> None:
        self._write = write
        self._read = read
        self.source = source
        """The generated Python source (for a reader who wants to see it)."""

    def encode(self, header: bytes, record: Mapping[str, object]) -> bytes | None:
        """``header`` then the record's Avro body, or None: fastavro must write this record."""
        out = bytearray(header)
        try:
            self._write(record, out)
        except Exception:  # any misfit, whatever its kind, is fastavro's to judge and report
            return None
        return bytes(out)

    def decode(self, data: bytes, offset: int) -> dict[str, Any] | None:
        """The record encoded in ``data`` from ``offset`` to its very end, or None: fastavro must
        read these bytes."""
        try:
            record, end = self._read(data, offset)
        except Exception:  # malformed or unusual bytes: fastavro reads them or says why not
            return None
        return record if end == len(data) else None


def compile_schema(schema_json: str) -> CompiledSchema | None:
    """The compiled writer and reader of the schema whose JSON text is ``schema_json``, or None when
    it uses something this module does not compile (fixed, float, decimal...)."""
    try:
        return _Generator(json.loads(schema_json)).compile()
    except _Unsupported:
        return None


# --- helpers the generated code calls -----------------------------------------------------------------


def _write_long(n: int, out: bytearray) -> None:
    if not _LONG_MIN <= n <= _LONG_MAX:
        raise _Unhandled
    n = (n << 1) ^ (n >> 63)
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _write_int(n: int, out: bytearray) -> None:
    if not _INT_MIN <= n <= _INT_MAX:
        raise _Unhandled
    _write_long(n, out)


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint at ``pos``: (value, position after it). At most ten bytes, 64 bits."""
    n = shift = 0
    for _ in range(10):
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            if n >> 64:
                raise _Unhandled
            return (n >> 1) ^ -(n & 1), pos
        shift += 7
    raise _Unhandled


def _read_int(data: bytes, pos: int) -> tuple[int, int]:
    n, pos = _read_long(data, pos)
    if not _INT_MIN <= n <= _INT_MAX:
        raise _Unhandled
    return n, pos


def _read_size(data: bytes, pos: int) -> tuple[int, int]:
    """A length or block count: never negative in what leadpipe writes."""
    n, pos = _read_long(data, pos)
    if n < 0:
        raise _Unhandled
    return n, pos


def _read_bytes(data: bytes, pos: int) -> tuple[bytes, int]:
    n, pos = _read_size(data, pos)
    end = pos + n
    if end > len(data):
        raise _Unhandled
    return data[pos:end], end


def _millis(value: datetime) -> int:
    if value.tzinfo is None:
        raise _Unhandled  # fastavro reads a naive datetime as local time
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


# The same few instants fill a decision's records ("now", the capture time...): their encodings and
# decodings are remembered. Equal aware datetimes are the same instant, so the same bytes.
_REMEMBERED_INSTANTS = 4096
_timestamp_bytes: dict[datetime, bytes] = {}
_timestamp_values: dict[int, datetime] = {}


def _write_timestamp(value: datetime, out: bytearray) -> None:
    encoded = _timestamp_bytes.get(value)
    if encoded is None:
        varint = bytearray()
        _write_long(_millis(value), varint)
        if len(_timestamp_bytes) >= _REMEMBERED_INSTANTS:
            _timestamp_bytes.clear()
        encoded = _timestamp_bytes[value] = bytes(varint)
    out += encoded


def _timestamp(millis: int) -> datetime:
    """fastavro's reading of a timestamp-millis value."""
    value = _timestamp_values.get(millis)
    if value is None:
        if len(_timestamp_values) >= _REMEMBERED_INSTANTS:
            _timestamp_values.clear()
        value = _timestamp_values[millis] = _EPOCH + timedelta(microseconds=millis * 1000)
    return value


_HELPERS: dict[str, object] = {
    "_Unhandled": _Unhandled, "_write_long": _write_long, "_write_int": _write_int, "_read_long": _read_long,
    "_read_int": _read_int, "_read_size": _read_size, "_read_bytes": _read_bytes,
    "_write_timestamp": _write_timestamp, "_timestamp": _timestamp,
    "_pack_double": struct.Struct("<d").pack, "_unpack_double": struct.Struct("<d").unpack_from,
    "_dict": dict, "_list": list, "_tuple": tuple,
}


# --- the generator ------------------------------------------------------------------------------------


class _Unsupported(Exception):
    """The schema uses a type this module does not compile."""


class _Generator:
    """Generates the writer and the reader of one top-level record, nested records inline."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.named: dict[str, dict[str, Any]] = {}
        self.constants: dict[str, object] = {}
        self.expanding: set[str] = set()
        self.counter = 0

    def compile(self) -> CompiledSchema:
        if self.schema.get("type") != "record":
            raise _Unsupported
        # Nested records are written and read inline (no call per item of an array of records).
        write = ["def _write_root(rec, out):", *self._write_fields(self.schema, "", "rec", "    ")]
        read = ["def _read_root(data, pos):", "    size = len(data)",
                *self._read_record(self.schema, "", "root", "    "), "    return root, pos"]
        source = "\n".join(write) + "\n\n\n" + "\n".join(read) + "\n"
        scope: dict[str, Any] = {**_HELPERS, **self.constants}
        exec(compile(source, "<leadpipe compiled avro>", "exec"), scope)  # noqa: S102  # our own schema files
        return CompiledSchema(scope["_write_root"], scope["_read_root"], source)

    def _name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _constant(self, value: object) -> str:
        name = self._name("_C")
        self.constants[name] = value
        return name

    def _resolve(self, schema: Any, namespace: str) -> Any:
        if isinstance(schema, str) and schema not in _PRIMITIVES:
            full = schema if "." in schema else f"{namespace}.{schema}" if namespace else schema
            found = self.named.get(full) or self.named.get(schema)
            if found is None:
                raise _Unsupported
            return found
        if isinstance(schema, dict) and schema.get("type") in _PRIMITIVES and "logicalType" not in schema:
            return schema["type"]
        return schema

    def _full_name(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        name: str = schema["name"]
        if "." in name:
            return name, name.rpartition(".")[0]
        space = schema.get("namespace", namespace)
        return (f"{space}.{name}" if space else name), space

    def _enter(self, schema: dict[str, Any], namespace: str) -> tuple[str, str]:
        """Register a record type by its full name; (full name, its namespace). Recursive types are
        not compiled (leadpipe has none)."""
        full, space = self._full_name(schema, namespace)
        if full in self.expanding:
            raise _Unsupported
        self.named[full] = schema
        return full, space

    def _write_fields(self, schema: dict[str, Any], namespace: str, record: str, indent: str) -> list[str]:
        """Write ``record``'s fields in order; a record without exactly the schema's fields is fastavro's."""
        full, space = self._enter(schema, namespace)
        self.expanding.add(full)
        fields = schema["fields"]
        lines = [f"{indent}if len({record}) != {len(fields)}:", f"{indent}    raise _Unhandled"]
        for field in fields:
            value = self._name("v")
            lines.append(f"{indent}{value} = {record}[{field['name']!r}]")
            lines.extend(self._write(field["type"], value, space, indent))
        self.expanding.discard(full)
        return lines

    def _read_record(self, schema: dict[str, Any], namespace: str, target: str, indent: str) -> list[str]:
        """Read the fields in order into locals, then build the dict (schema field order)."""
        full, space = self._enter(schema, namespace)
        self.expanding.add(full)
        lines: list[str] = []
        names = []
        for field in schema["fields"]:
            value = self._name("v")
            lines.extend(self._read(field["type"], value, space, indent))
            names.append(f"{field['name']!r}: {value}")
        self.expanding.discard(full)
        return [*lines, f"{indent}{target} = {{{', '.join(names)}}}"]

    def _write(self, schema: Any, value: str, namespace: str, indent: str) -> list[str]:
        schema = self._resolve(schema, namespace)
        i = indent
        if schema == "null":
            return [f"{i}if {value} is not None:", f"{i}    raise _Unhandled"]
        if schema == "boolean":
            # Only a real bool: fastavro takes anything at the top level but refuses a non-bool inside
            # a union branch; either way it is fastavro's to decide.
            return [f"{i}if {value} is True:", f"{i}    out.append(1)", f"{i}elif {value} is False:",
                    f"{i}    out.append(0)", f"{i}else:", f"{i}    raise _Unhandled"]
        if schema in ("int", "long"):
            return [f"{i}if 0 <= {value} < 64:", f"{i}    out.append({value} << 1)", f"{i}else:",
                    f"{i}    _write_{schema}({value}, out)"]
        if schema == "double":
            return [f"{i}out += _pack_double({value})"]
        if schema in ("string", "bytes"):
            raw = self._name("b")
            size = self._name("n")
            encode = f"{value}.encode()" if schema == "string" else value
            lines = [f"{i}{raw} = {encode}"] if schema == "string" else [
                f"{i}if type({value}) is not bytes:", f"{i}    raise _Unhandled", f"{i}{raw} = {value}"]
            return [*lines, f"{i}{size} = len({raw})", *self._write_size(size, i), f"{i}out += {raw}"]
        if isinstance(schema, list):
            return self._write_union(schema, value, namespace, indent)
        if not isinstance(schema, dict):
            raise _Unsupported
        kind = schema.get("type")
        if schema.get("logicalType") == "timestamp-millis" and kind == "long":
            return [f"{i}_write_timestamp({value}, out)"]
        if "logicalType" in schema:
            raise _Unsupported
        if kind == "record":
            return [f"{i}if type({value}) is not _dict:", f"{i}    raise _Unhandled",
                    *self._write_fields(schema, namespace, value, indent)]
        if kind == "enum":
            full, _ = self._full_name(schema, namespace)
            self.named[full] = schema
            index = self._constant({symbol: n for n, symbol in enumerate(schema["symbols"])})
            position = self._name("e")
            if len(schema["symbols"]) <= 64:  # a one-byte index
                return [f"{i}out.append({index}[{value}] << 1)"]
            return [f"{i}{position} = {index}[{value}]", f"{i}_write_long({position}, out)"]
        if kind == "array":
            item = self._name("x")
            return [f"{i}if type({value}) is not _list and type({value}) is not _tuple:", f"{i}    raise _Unhandled",
                    f"{i}if {value}:", *self._write_size(f"len({value})", i + "    "), f"{i}    for {item} in {value}:",
                    *self._write(schema["items"], item, namespace, i + "        "), f"{i}out.append(0)"]
        if kind == "map":
            key, item = self._name("k"), self._name("x")
            return [f"{i}if type({value}) is not _dict:", f"{i}    raise _Unhandled",
                    f"{i}if {value}:", *self._write_size(f"len({value})", i + "    "),
                    f"{i}    for {key}, {item} in {value}.items():",
                    *self._write("string", key, namespace, i + "        "),
                    *self._write(schema["values"], item, namespace, i + "        "), f"{i}out.append(0)"]
        raise _Unsupported

    def _write_size(self, size: str, indent: str) -> list[str]:
        """A length or count (never negative): one or two bytes inline, ``_write_long`` beyond 8,191."""
        i, n = indent, self._name("n")
        return [f"{i}{n} = {size}", f"{i}if {n} < 64:", f"{i}    out.append({n} << 1)", f"{i}elif {n} < 8192:",
                f"{i}    out.append(({n} << 1) & 0x7F | 0x80)", f"{i}    out.append({n} >> 6)",
                f"{i}else:", f"{i}    _write_long({n}, out)"]

    def _write_union(self, branches: list[Any], value: str, namespace: str, indent: str) -> list[str]:
        i = indent
        resolved = [self._resolve(branch, namespace) for branch in branches]
        others = [n for n, branch in enumerate(resolved) if branch != "null"]
        null = next((n for n, branch in enumerate(resolved) if branch == "null"), None)
        lines = []
        if null is not None:
            lines += [f"{i}if {value} is None:", f"{i}    out.append({null << 1})", f"{i}else:"]
            i += "    "
        if len(others) == 1:
            # One non-null branch: what fastavro picks for any value that is not None.
            return [*lines, f"{i}if type({value}) is _tuple:", f"{i}    raise _Unhandled",
                    f"{i}out.append({others[0] << 1})", *self._write(branches[others[0]], value, namespace, i)]
        # Several: only a value naming its branch, (name, value), is written here.
        name, inner = self._name("u"), self._name("y")
        lines += [f"{i}if type({value}) is not _tuple:", f"{i}    raise _Unhandled", f"{i}{name}, {inner} = {value}"]
        for position, n in enumerate(others):
            branch = resolved[n]
            label = (self._full_name(branch, namespace)[0] if isinstance(branch, dict)
                     and branch.get("type") in ("record", "enum") else branch if isinstance(branch, str) else None)
            if label is None:
                raise _Unsupported
            lines += [f"{i}{'if' if position == 0 else 'elif'} {name} == {label!r}:", f"{i}    out.append({n << 1})",
                      *self._write(branches[n], inner, namespace, i + "    ")]
        return [*lines, f"{i}else:", f"{i}    raise _Unhandled"]

    def _read(self, schema: Any, target: str, namespace: str, indent: str) -> list[str]:
        schema = self._resolve(schema, namespace)
        i = indent
        if schema == "null":
            return [f"{i}{target} = None"]
        if schema == "boolean":
            byte = self._name("o")
            return [f"{i}{byte} = data[pos]", f"{i}pos += 1", f"{i}if {byte} > 1:", f"{i}    raise _Unhandled",
                    f"{i}{target} = {byte} == 1"]
        if schema in ("int", "long"):
            return self._read_varint(target, schema, indent)
        if schema == "double":
            return [f"{i}{target}, = _unpack_double(data, pos)", f"{i}pos += 8"]
        if schema == "string":
            # Inline for the usual short string (length < 64: one byte); _read_bytes for the rest.
            head, end = self._name("h"), self._name("z")
            return [f"{i}{head} = data[pos]", f"{i}if {head} < 0x80:",
                    f"{i}    if {head} & 1:", f"{i}        raise _Unhandled",
                    f"{i}    {end} = pos + 1 + ({head} >> 1)",
                    f"{i}    if {end} > size:", f"{i}        raise _Unhandled",
                    f"{i}    {target} = data[pos + 1:{end}].decode()", f"{i}    pos = {end}",
                    f"{i}else:", f"{i}    {head}, pos = _read_bytes(data, pos)", f"{i}    {target} = {head}.decode()"]
        if schema == "bytes":
            return [f"{i}{target}, pos = _read_bytes(data, pos)"]
        if isinstance(schema, list):
            return self._read_union(schema, target, namespace, indent)
        if not isinstance(schema, dict):
            raise _Unsupported
        kind = schema.get("type")
        if schema.get("logicalType") == "timestamp-millis" and kind == "long":
            millis = self._name("t")
            return [*self._read_varint(millis, "long", indent), f"{i}{target} = _timestamp({millis})"]
        if kind == "record":
            return self._read_record(schema, namespace, target, indent)
        if kind == "enum":
            symbols = self._constant(tuple(schema["symbols"]))
            position = self._name("e")
            return [f"{i}{position}, pos = _read_long(data, pos)",
                    f"{i}if not 0 <= {position} < {len(schema['symbols'])}:", f"{i}    raise _Unhandled",
                    f"{i}{target} = {symbols}[{position}]"]
        if kind == "array":
            count, item = self._name("c"), self._name("x")
            return [f"{i}{target} = []", f"{i}{count}, pos = _read_size(data, pos)", f"{i}while {count}:",
                    f"{i}    for _ in range({count}):", *self._read(schema["items"], item, namespace, i + "        "),
                    f"{i}        {target}.append({item})", f"{i}    {count}, pos = _read_size(data, pos)"]
        if kind == "map":
            count, key, item = self._name("c"), self._name("k"), self._name("x")
            return [f"{i}{target} = {{}}", f"{i}{count}, pos = _read_size(data, pos)", f"{i}while {count}:",
                    f"{i}    for _ in range({count}):", *self._read("string", key, namespace, i + "        "),
                    *self._read(schema["values"], item, namespace, i + "        "),
                    f"{i}        {target}[{key}] = {item}", f"{i}    {count}, pos = _read_size(data, pos)"]
        raise _Unsupported

    def _read_varint(self, target: str, kind: str, indent: str) -> list[str]:
        """Inline for a one-byte varint (-64..63); ``_read_long`` / ``_read_int`` for the rest."""
        i = indent
        head = self._name("h")
        return [f"{i}{head} = data[pos]", f"{i}if {head} < 0x80:", f"{i}    {target} = ({head} >> 1) ^ -({head} & 1)",
                f"{i}    pos += 1", f"{i}else:", f"{i}    {target}, pos = _read_{kind}(data, pos)"]

    def _read_union(self, branches: list[Any], target: str, namespace: str, indent: str) -> list[str]:
        i = indent
        index = self._name("w")
        lines = [f"{i}{index} = data[pos]", f"{i}pos += 1"]  # leadpipe's unions have < 64 branches: one byte
        for n, branch in enumerate(branches):
            lines += [f"{i}{'if' if n == 0 else 'elif'} {index} == {n << 1}:",
                      *self._read(branch, target, namespace, i + "    ")]
        return [*lines, f"{i}else:", f"{i}    raise _Unhandled"]
