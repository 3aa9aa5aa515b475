"""Output records compared field by field, and kept as a golden file.

:func:`first_difference` says where two runs of a stream part ways — which output, which field,
both values — or None when every record agrees, ids included. :func:`write_golden` /
:func:`read_golden` keep a run's outputs as xz-compressed JSON lines; reading gives back
:class:`~streams.reference.Output` values equal to the ones written (instants and bytes are tagged,
so they come back as ``datetime`` and ``bytes``).
"""

from __future__ import annotations

import base64
import io
import json
import lzma
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pipeline.topics import DEAD_LETTER
from streams.reference import Output

Order = Literal["exact", "per_key"]
"""``exact``: the outputs must come in the same order (two runs of the reference runner).
``per_key``: only the order among records of one topic and key counts (dead-letters also by the
input topic they came from) — what a broker with several partitions and agents guarantees."""

_INSTANT = "$instant"
_BYTES = "$bytes"


@dataclass(frozen=True, slots=True)
class Difference:
    """Where two output sequences first disagree."""

    index: int
    """Position in the sequences as compared (after grouping, for ``per_key``)."""
    path: str
    """The field (``record.reasons[0].code``), ``topic``, ``key``, or ``<count>`` when one ran out."""
    expected: object
    actual: object
    context: str
    """Which record: topic, key and its ids, so it can be found in either run."""

    def __str__(self) -> str:
        return (f"output #{self.index} ({self.context}) differs at {self.path}:\n"
                f"  expected {self.expected!r}\n  actual   {self.actual!r}")


def first_difference(expected: Sequence[Output], actual: Sequence[Output], *,
                     order: Order = "exact") -> Difference | None:
    """The first disagreement between ``expected`` and ``actual``, or None when they agree record for
    record and field for field."""
    if order == "per_key":
        expected, actual = per_key(expected), per_key(actual)
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        found = _first_in(want, got)
        if found is not None:
            path, a, b = found
            return Difference(index, path, a, b, _describe(want))
    if len(expected) != len(actual):
        index = min(len(expected), len(actual))
        extra = expected[index] if len(expected) > index else actual[index]
        return Difference(index, "<count>", len(expected), len(actual),
                          f"the first {index} agree; next: {_describe(extra)}")
    return None


def per_key(outputs: Sequence[Output]) -> list[Output]:
    """``outputs`` grouped by topic and key (dead-letters also by their input topic), each group in
    its original order; groups sorted."""
    def group(output: Output) -> tuple[str, bytes, str]:
        source = str(output.record.get("topic", "")) if output.topic == DEAD_LETTER else ""
        return output.topic, output.key or b"", source
    return sorted(outputs, key=group)


def _first_in(want: Output, got: Output) -> tuple[str, object, object] | None:
    if want.topic != got.topic:
        return "topic", want.topic, got.topic
    if want.key != got.key:
        return "key", want.key, got.key
    return _first_value_difference("record", want.record, got.record)


def _first_value_difference(path: str, a: object, b: object) -> tuple[str, object, object] | None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for name in list(a) + [k for k in b if k not in a]:
            if name not in a or name not in b:
                return f"{path}.{name}", a.get(name, "<absent>"), b.get(name, "<absent>")
            found = _first_value_difference(f"{path}.{name}", a[name], b[name])
            if found is not None:
                return found
        return None
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = _first_value_difference(f"{path}[{i}]", x, y)
            if found is not None:
                return found
        return None if len(a) == len(b) else (f"{path} (length)", len(a), len(b))
    # bool is an int to Python: True == 1 must still count as a difference.
    if type(a) is not type(b) or a != b:
        return path, a, b
    return None


def _describe(output: Output) -> str:
    record = output.record
    ids = ", ".join(f"{name} {record[name]}" for name in ("lead_id", "input_event_id", "event_id", "stage")
                    if record.get(name) is not None)
    key = output.key.decode(errors="replace") if output.key is not None else None
    return f"{output.topic}, key {key!r}, {ids}"


# --- the golden file --------------------------------------------------------------------------------


def write_golden(path: Path, outputs: Sequence[Output]) -> None:
    """Write ``outputs`` as xz-compressed JSON lines (a third of gzip's size for these records); the
    same outputs give the same bytes."""
    text = io.StringIO()
    for output in outputs:
        text.write(json.dumps({"topic": output.topic, "key": _tagged(output.key), "record": _tagged(output.record)},
                              sort_keys=True, ensure_ascii=False, separators=(",", ":")))
        text.write("\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lzma.compress(text.getvalue().encode(), preset=9 | lzma.PRESET_EXTREME))


def read_golden(path: Path) -> list[Output]:
    """The outputs :func:`write_golden` wrote to ``path``."""
    outputs = []
    with lzma.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            data = json.loads(line, object_hook=_untagged)
            outputs.append(Output(data["topic"], data["key"], data["record"]))
    return outputs


def _tagged(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_INSTANT: value.isoformat()}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {name: _tagged(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(item) for item in value]
    return value


_UNTAG: dict[str, Callable[[str], object]] = {_INSTANT: datetime.fromisoformat, _BYTES: base64.b64decode}


def _untagged(data: dict[str, Any]) -> object:
    if len(data) == 1:
        (name, value), = data.items()
        if name in _UNTAG:
            return _UNTAG[name](value)
    return data
