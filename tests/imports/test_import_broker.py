"""`leadpipe import leads` as a real process into the real embedded broker; records read back as Avro."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.admin import ensure_topics
from pipeline.broker import EmbeddedBroker
from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import TopicTail
from pipeline.topics import LEAD_CAPTURED

pytestmark = pytest.mark.integration

GOOD = 300


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    broker = EmbeddedBroker(log_path=tmp_path / "broker.log")
    try:
        settings = Settings().with_bootstrap(broker.start())
        ensure_topics(settings)
        yield settings
    finally:
        broker.stop()


def write_file(path: Path) -> dict[int, str]:
    """A vendor file: GOOD good rows and bad ones at known lines; returns line → expected reason."""
    bad: dict[int, str] = {}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Mobile", "First Name", "Last Name", "Email", "State", "Campaign", "Timeline"])
        line = 1
        for n in range(GOOD):
            line += 1
            if n % 50 == 7:
                writer.writerow(["555 12", "Bad", "Phone", "x@example.com", "FL", "solar-q4", ""])
                bad[line] = "phone: PHONE_INVALID"
                line += 1
            if n % 70 == 3:
                writer.writerow([f"+1305300{n:04d}", "No", "Campaign", "", "FL", "", ""])
                bad[line] = "campaign_id: missing"
                line += 1
            writer.writerow([f"(305) 209-{n:04d}" if n % 2 else f"305209{n:04d}", f"First{n}", "Last",
                             f"p{n}@example" if n % 9 == 0 else f"p{n}@example.com", "FL", "solar-q4", "this_month"])
    return bad


def run_import(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env["LEADPIPE_BOOTSTRAP_SERVERS"] = settings.bootstrap_servers or ""
    return subprocess.run([sys.executable, "-m", "pipeline.cli", "import", "leads", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_csv_file_lands_on_lead_captured_and_every_bad_row_is_reported(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "vendor.csv"
    bad = write_file(path)
    errors = tmp_path / "errors.csv"
    done = run_import(settings, str(path), "--map", "Mobile=phone", "--country", "US", "--source", "vendor:acme",
                      "--errors", str(errors))
    assert done.returncode == 0, done.stderr
    rows = GOOD + len(bad)
    assert f"rows       {rows:,} read" in done.stdout
    assert f"imported   {GOOD:,} acknowledged by the broker" in done.stdout
    assert f"rejected   {len(bad)}" in done.stdout
    for line, reason in bad.items():
        assert f"line {line}: {reason}" in done.stdout
    assert "100.0%" in done.stderr  # the progress bar reached the end

    with errors.open(newline="", encoding="utf-8") as f:
        reported = {int(r["line"]): r["reason"] for r in csv.DictReader(f)}
    assert set(reported) == set(bad)
    assert all(reported[line].startswith(reason) for line, reason in bad.items())

    codec = make_codec(settings)
    tail = TopicTail(settings.kafka_client_config(), codec, [LEAD_CAPTURED]).start()
    try:
        records = [r.record for r in tail.wait_for(LEAD_CAPTURED, lambda r: r.record is not None, count=GOOD)]
        first_ids = sorted(r["event_id"] for r in records if r is not None)
        by_name = {r["first_name"]: r for r in records if r is not None}
        assert len(by_name) == GOOD
        ana = by_name["First9"]
        assert ana["phone"] == "(305) 209-0009"
        assert (ana["campaign_id"], ana["country"], ana["source"]) == ("solar-q4", "US", "vendor:acme")
        assert ana["email"] == "p9@example"  # a doubtful address is kept: quality is judged downstream
        assert ana["address"]["region"] == "FL"
        assert ana["attributes"] == {"Timeline": "this_month"}

        # The same file again sends the same ids: the pipeline's idempotency drops the copies.
        again = run_import(settings, str(path), "--map", "Mobile=phone", "--country", "US", "--source", "vendor:acme")
        assert again.returncode == 0, again.stderr
        both = tail.wait_for(LEAD_CAPTURED, lambda r: r.record is not None, count=2 * GOOD)
        assert sorted(r.record["event_id"] for r in both if r.record is not None) == sorted(first_ids * 2)
    finally:
        tail.stop()


def test_a_file_without_a_phone_column_is_refused_before_anything_is_sent(settings: Settings,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "nophone.csv"
    path.write_text("name,campaign\nAna,solar-q4\n", encoding="utf-8")
    done = run_import(settings, str(path))
    assert done.returncode == 1
    assert "no column maps to phone" in done.stderr
