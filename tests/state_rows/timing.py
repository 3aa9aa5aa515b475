"""What a table row costs to decode and encode, here and in another tree, side by side.

    PYTHONPATH=tests .venv/bin/python -m state_rows.timing --against /tmp/old-tree

``/tmp/old-tree`` is an export of another commit (``git archive <commit> | tar -x -C /tmp/old-tree``).
Each tree, in its own process, decodes every row of the worker path in
``rows-main-d5198ea.jsonl.xz`` (their state as stored) and encodes the decoded values again, with
:func:`timeit.repeat` (5 repeats; the median is kept), per table. The trees take turns twice
(other, this, other, this), so a noisy machine shows as two runs that disagree. A tree is read
through its own row functions: ``pipeline.state_codec`` where it has one, else the state types'
``to_json``/``from_json`` as ``pipeline.worker.state`` called them.

"Per event" is what one event of a number costs at most: its three rows decoded (suppressions,
consents, leads; the worker keeps recently decoded numbers and skips this for them) and its leads
row encoded (written for every event; the other two only when they change).
"""

from __future__ import annotations

import argparse
import json
import lzma
import os
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "rows-main-d5198ea.jsonl.xz"
TABLES = ("suppressions", "consents", "leads", "erasures", "emails")


def _row_functions() -> tuple[Callable[[type, bytes], Any], Callable[[Any], bytes]]:
    try:
        from pipeline.state_codec import decode, encode
    except ImportError:  # a tree from before the codec: the worker's own dump and load of then
        from pipeline.worker import state as old  # type: ignore[attr-defined,unused-ignore]
        return (lambda kind, raw: old.load(kind, raw)), old.dump
    return decode, encode


def measure() -> dict[str, dict[str, float]]:
    """Microseconds per row, decode and encode, per table (median of 5 repeats)."""
    from pipeline.core.consents import ConsentLedger
    from pipeline.core.email_stage import EmailLeads
    from pipeline.core.erasure import Erasure
    from pipeline.core.leads import NumberLeads
    from pipeline.core.suppressions import SuppressionState

    kinds = {"suppressions": SuppressionState, "consents": ConsentLedger, "leads": NumberLeads, "erasures": Erasure,
             "emails": EmailLeads}
    decode, encode = _row_functions()
    with lzma.open(FIXTURE, "rt", encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    figures: dict[str, dict[str, float]] = {}
    for table in TABLES:
        kind = kinds[table]
        raws = [row["row"].encode() for row in rows if row["table"] == table and "worker path" in row["written_by"]]
        values = [decode(kind, raw) for raw in raws]
        number = max(1, 20_000 // len(raws))

        def decode_all(kind: type = kind, raws: list[bytes] = raws) -> None:
            for raw in raws:
                decode(kind, raw)

        def encode_all(values: list[Any] = values) -> None:
            for value in values:
                encode(value)

        per_row = 1e6 / (number * len(raws))
        figures[table] = {
            "rows": len(raws),
            "bytes": statistics.mean(len(raw) for raw in raws),
            "decode_us": statistics.median(timeit.repeat(decode_all, number=number, repeat=5)) * per_row,
            "encode_us": statistics.median(timeit.repeat(encode_all, number=number, repeat=5)) * per_row,
        }
    return figures


def per_event(figures: dict[str, dict[str, float]]) -> float:
    return (sum(figures[t]["decode_us"] for t in ("suppressions", "consents", "leads"))
            + figures["leads"]["encode_us"])


def _run(tree: Path) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tree), str(HERE.parent)])}
    out = subprocess.run([sys.executable, "-m", "state_rows.timing", "--measure"], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)
    result: dict[str, dict[str, float]] = json.loads(out.stdout.strip().splitlines()[-1])
    where = out.stderr.strip().splitlines()[-1]
    if str(tree.resolve()) not in where:  # an editable install can shadow PYTHONPATH: say so, do not mislead
        raise SystemExit(f"measured the wrong tree for {tree}: {where}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", type=Path, help="the other tree (an exported commit)")
    parser.add_argument("--measure", action="store_true", help="measure the pipeline on sys.path, print JSON")
    args = parser.parse_args(argv)
    if args.measure:
        import pipeline

        print(f"# pipeline from {Path(pipeline.__file__).parent}", file=sys.stderr)
        print(json.dumps(measure()))
        return 0
    if args.against is None:
        parser.error("--against is needed (or --measure)")
    this = HERE.parent.parent
    runs = [(name, _run(tree)) for _ in range(2) for name, tree in (("other", args.against), ("this", this))]
    print(f"{'table':<13}{'rows':>6}{'bytes':>8}  " + "  ".join(f"{n + ' #' + str(i // 2 + 1):>21}"
                                                           for i, (n, _) in enumerate(runs)))
    print(f"{'':<27}  " + "  ".join(f"{'decode us':>10} {'encode us':>10}" for _ in runs))
    for table in TABLES:
        first = runs[1][1][table]
        cells = "  ".join(f"{f[table]['decode_us']:>10.2f} {f[table]['encode_us']:>10.2f}" for _, f in runs)
        print(f"{table:<13}{first['rows']:>6.0f}{first['bytes']:>8.0f}  {cells}")
    print(f"{'per event':<27}  " + "  ".join(f"{per_event(f):>21.2f}" for _, f in runs))
    for i in (0, 2):
        (_, other), (_, ours) = runs[i], runs[i + 1]
        ratios = ", ".join(f"{t} {other[t]['decode_us'] / ours[t]['decode_us']:.1f}x / "
                           f"{other[t]['encode_us'] / ours[t]['encode_us']:.1f}x" for t in TABLES)
        print(f"run {i // 2 + 1}: other/this (decode / encode): {ratios}; "
              f"per event {per_event(other) / per_event(ours):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
