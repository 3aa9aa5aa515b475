"""What a table row costs to decode and encode, here and in another tree, side by side.

    PYTHONPATH=tests .venv/bin/python -m state_rows.timing --against /tmp/old-tree

``/tmp/old-tree`` is an export of another commit (``git archive <commit> | tar -x -C /tmp/old-tree``).
Each tree, in its own process, decodes every row of the worker path in
``rows-main-d5198ea.jsonl.xz`` as stored ("d5198ea rows"), then the same states as it writes them
itself ("own rows": what it reads once a row was written again), and encodes them, with
:func:`timeit.repeat` on the process's CPU time (5 repeats; the median is kept), per table. The trees take turns twice
(other, this, other, this), so a noisy machine shows as two runs that disagree. A tree is read
through its own row functions: ``pipeline.state_codec`` where it has one, else the state types'
``to_json``/``from_json`` as ``pipeline.worker.state`` called them.

"Per event" is what one event of a number costs at most: its three own rows decoded (suppressions,
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
import time
import timeit
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "rows-main-d5198ea.jsonl.xz"
TABLES = ("suppressions", "consents", "leads", "erasures", "emails")


def _row_functions() -> tuple[Callable[[type, bytes], Any], Callable[[Any], bytes]]:
    import pipeline

    # Asked by file, not by import: the editable install finds pipeline.state_codec in the worktree
    # even when the rest of pipeline comes from the other tree.
    if not (Path(pipeline.__file__).parent / "state_codec.py").exists():
        # A tree from before the codec: the worker's own dump and load of then.
        from pipeline.worker import state as old
        return (lambda kind, raw: old.load(kind, raw)), old.dump  # type: ignore[attr-defined,unused-ignore]
    from pipeline.state_codec import decode, encode
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
        stored = [row["row"].encode() for row in rows if row["table"] == table and "worker path" in row["written_by"]]
        values = [decode(kind, raw) for raw in stored]
        own = [encode(value) for value in values]
        number = max(1, 20_000 // len(stored))

        def decode_all(raws: list[bytes], kind: type = kind) -> Callable[[], None]:
            def run() -> None:
                for raw in raws:
                    decode(kind, raw)
            return run

        def encode_all(values: list[Any] = values) -> None:
            for value in values:
                encode(value)

        def us(run: Callable[[], None], number: int = number, rows: int = len(stored)) -> float:
            seconds = timeit.repeat(run, number=number, repeat=5, timer=time.process_time)
            return statistics.median(seconds) * 1e6 / (number * rows)

        figures[table] = {
            "rows": len(stored),
            "bytes": statistics.mean(len(raw) for raw in own),
            "decode_stored_us": us(decode_all(stored)),
            "decode_us": us(decode_all(own)),
            "encode_us": us(encode_all),
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
    print("microseconds of CPU per row: decode of the d5198ea rows / decode of own rows / encode")
    print(f"{'table':<13}{'rows':>6}  " + "  ".join(f"{n + ' #' + str(i // 2 + 1) + ' (bytes)':>26}"
                                                  for i, (n, _) in enumerate(runs)))
    for table in TABLES:
        cells = "  ".join(f"{f[table]['decode_stored_us']:>6.1f} {f[table]['decode_us']:>6.1f} "
                          f"{f[table]['encode_us']:>5.1f} ({f[table]['bytes']:>4.0f})" for _, f in runs)
        print(f"{table:<13}{runs[0][1][table]['rows']:>6.0f}  {cells}")
    print(f"{'per event':<19}  " + "  ".join(f"{per_event(f):>26.1f}" for _, f in runs))
    for i in (0, 2):
        (_, other), (_, ours) = runs[i], runs[i + 1]
        ratios = ", ".join(f"{t} {other[t]['decode_us'] / ours[t]['decode_us']:.1f}x / "
                           f"{other[t]['encode_us'] / ours[t]['encode_us']:.1f}x" for t in TABLES)
        print(f"run {i // 2 + 1}: other/this (decode / encode): {ratios}; "
              f"per event {per_event(other) / per_event(ours):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
