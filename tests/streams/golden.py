"""The golden outputs of the mixed stream: regenerate them, or check the current code against them.

    PYTHONPATH=tests .venv/bin/python -m streams.golden          # check: prints the first difference
    PYTHONPATH=tests .venv/bin/python -m streams.golden --write  # record today's outputs as the golden

Regenerate only when a change of behaviour is meant, and say in the commit which outputs changed
and why (the check's first difference, and the counts this prints, are a start).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from streams.compare import first_difference, read_golden, write_golden
from streams.mixed import DEFAULT_EVENTS, DEFAULT_SEED, mixed_stream
from streams.reference import Output, run_reference

GOLDEN = Path(__file__).resolve().parent / "golden" / f"mixed-{DEFAULT_SEED}-{DEFAULT_EVENTS}.jsonl.xz"
"""The outputs of ``run_reference(mixed_stream())`` as recorded from main."""


def summary(outputs: Sequence[Output]) -> Counter[str]:
    """Outputs counted by topic and what they say (decision outcome, call-ready action, dead-letter stage)."""
    counts: Counter[str] = Counter()
    for output in outputs:
        detail = {"lead-decision": "outcome", "call-ready": "action", "dead-letter": "stage"}.get(output.topic)
        counts[f"{output.topic} {output.record[detail]}" if detail else output.topic] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="record the current outputs as the golden file")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    stream = mixed_stream()
    outputs = run_reference(stream)
    print(f"{stream.inputs} inputs, {len(stream.items) - stream.inputs} scheduler ticks -> {len(outputs)} outputs "
          f"in {time.perf_counter() - start:.1f} s")
    for name, count in sorted(summary(outputs).items()):
        print(f"  {count:>6}  {name}")
    if args.write:
        write_golden(GOLDEN, outputs)
        print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes)")
        return 0
    difference = first_difference(read_golden(GOLDEN), outputs)
    print("same as the golden file" if difference is None else f"differs from the golden file: {difference}")
    return 0 if difference is None else 1


if __name__ == "__main__":
    sys.exit(main())
