"""The differential guard on the worker's own code: the mixed stream through the decide agent's
batch path (:mod:`streams.worker_path`) gives the golden outputs, per key, ids included.

The golden was recorded from the reference runner, which plays the stream one record at a time
with the old worker's email hop; the worker decides most inputs in place, checks emails against
its email index, and takes records in batches. Per topic and key (dead-letters also per input
topic) every call-ready, lead-decision, qualified-lead and dead-letter record must be the same,
field for field — nothing is left out of the comparison. Across keys the order may differ (the
release index hands out due numbers by instant, the reference by key).
"""

from __future__ import annotations

import pytest

from pipeline import topics
from pipeline.config import Settings
from pipeline.core.email_stage import EmailLeads
from streams.compare import first_difference, read_golden
from streams.golden import GOLDEN
from streams.mixed import MixedStream, mixed_stream
from streams.reference import Output, run_reference
from streams.worker_path import EchoedEmailIndex, run_worker_path


@pytest.fixture(scope="module")
def stream() -> MixedStream:
    return mixed_stream()


@pytest.fixture(scope="module")
def golden() -> list[Output]:
    return read_golden(GOLDEN)


def test_the_worker_path_decides_the_mixed_stream_as_recorded(stream: MixedStream, golden: list[Output]) -> None:
    # The worker's own batch limit (Settings.batch_max). One record a batch gives the same outputs too,
    # but a second run of the 20,000 events doubles the time: the smaller stream below takes that part.
    batch_max = Settings.batch_max
    run = run_worker_path(stream, batch_max=batch_max)

    difference = first_difference(golden, run.outputs, order="per_key")
    assert difference is None, f"the worker path (batches of up to {batch_max}) differs from the golden: {difference}"
    print(f"\nbatches of up to {batch_max}: {len(run.outputs)} output records compared per key with the golden, "
          f"none excluded; {run.records} records taken in {run.batches} batches (largest {run.largest_batch}), "
          f"{run.rekeyed} of them sent to number-events by the worker")
    assert len(run.outputs) == len(golden) > 40_000
    assert run.records == stream.inputs + run.rekeyed  # every record the worker sent itself was taken
    # Both routes are taken: inputs decided where they arrived (at most ``rekeyed`` of the decided
    # events came from number-events), and inputs re-keyed first.
    assert run.decided > run.rekeyed > 0
    assert run.largest_batch > 1  # a tick's releases come due together: several numbers decided in one batch


@pytest.fixture(scope="module")
def small() -> tuple[MixedStream, list[Output]]:
    stream = mixed_stream(seed=7, events=2000)
    return stream, run_reference(stream)


@pytest.mark.parametrize("batch_max", [1, 3], ids=["one record a batch", "a tick's releases split in threes"])
def test_another_seed_agrees_with_the_reference_whatever_the_batch_size(small: tuple[MixedStream, list[Output]],
                                                                        batch_max: int) -> None:
    stream, expected = small

    run = run_worker_path(stream, batch_max=batch_max)

    assert first_difference(expected, run.outputs, order="per_key") is None
    assert len(run.outputs) == len(expected)
    assert {o.topic for o in expected} == {topics.CALL_READY, topics.LEAD_DECISION, topics.QUALIFIED_LEAD,
                                           topics.DEAD_LETTER}
    assert run.largest_batch == batch_max


def test_the_email_index_keeps_what_its_changelog_says_once_written() -> None:
    index = EchoedEmailIndex()
    index.echo(b"email:a", index.put(b"email:a", EmailLeads()))
    assert (len(index), index.get(b"email:a"), index.echoes) == (1, EmailLeads(), 1)
    index.echo(b"email:a", None)  # a tombstone on the changelog
    assert (len(index), index.echoes) == (0, 2)
