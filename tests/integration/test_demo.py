"""The README's main command: ``leadpipe demo`` runs the whole system — broker, worker, gateway,
console, CRM connector and local CRM, simulated web forms and dialer — and stops without leftovers.

While it runs, the dashboard it prints is loaded in headless chromium and must show the figures
counted here from the topics with a plain consumer.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from broker_kinds import BrokerFactory
from chromium_browser import headless_chromium, read_dashboard
from conftest import NOW

from pipeline.codec import make_codec
from pipeline.config import Settings
from pipeline.kafka_clients import TopicTail
from pipeline.topics import LEAD_CAPTURED, LEAD_DECISION, QUALIFIED_LEAD

pytestmark = pytest.mark.integration

TAG = "LEADPIPE_TEST_RUN"
"""Set in the demo's environment: every process it starts inherits it, so the test finds exactly
the processes of its own demo run (other runs on the same machine are not counted)."""


def _processes_tagged(tag: str) -> set[int]:
    needle = f"{TAG}={tag}".encode()
    pids = set()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if needle in environ.read_bytes().split(b"\0"):
                pids.add(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def _demo_env(tag: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env["LEADPIPE_FIXED_CLOCK"] = NOW.isoformat()  # a US afternoon: every kind of outcome shows up
    env["PYTHONUNBUFFERED"] = "1"
    env[TAG] = tag
    return env


def _wait_gone(tag: str, timeout_s: float = 10.0) -> set[int]:
    deadline = time.monotonic() + timeout_s
    while (left := _processes_tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def _assert_the_story_was_told(out: str) -> None:
    """The demo's outputs and summary (``out``, up to and with the summary) show every part working."""
    for marker in ("CALL_READY", "SUPPRESSED", "REJECTED", "DEAD-LETTER", "QUALIFIED", "WITHDRAW", "summary",
                   "/dashboard"):
        assert marker in out, f"{marker} missing from demo output:\n{out}"
    assert "dead-letter:    2 records" in out
    gateway = re.search(r"^gateway: +(.*)$", out, re.M)
    assert gateway is not None and "202: " in gateway.group(1), out
    assert "503" not in gateway.group(1), out  # nothing the broker did not store
    assert "422: " in gateway.group(1), out  # leads whose phone no normalization can save, refused at the door
    qualified = re.search(r"^qualified-lead: (\d+) sent to CRMs", out, re.M)
    stored = re.search(r"^CRM: +(\d+) stored at the local CRM", out, re.M)
    assert qualified is not None and stored is not None, out
    assert int(qualified.group(1)) >= 1
    assert int(stored.group(1)) == int(qualified.group(1)), out  # each qualified lead once, none twice
    assert "blocked by the dial-time check (DNC_OPT_OUT" in out, out
    # A callback comes back with its promise, and the dialer gives it to the agent who made it.
    reoffer = re.search(r"☎  CALL_READY (\S+) +lead (\S+) +priority +(\d+)  CALLBACK from \d\d:\d\dZ promised by "
                        r"(a-\d+): '(.+)'$", out, re.M)
    assert reoffer is not None, out
    lead_id, priority, agent = reoffer.group(2), int(reoffer.group(3)), reoffer.group(4)
    assert priority >= 1000  # above every new lead's
    assert f"☎  dialer: callback for lead {lead_id} routed to {agent}, who promised it" in out, out
    callbacks = re.search(r"^callbacks: +(\d+) re-offered with their promise; dialed by the agent who promised them "
                          r"(\d+)", out, re.M)
    assert callbacks is not None and int(callbacks.group(1)) >= 1 and int(callbacks.group(2)) >= 1, out


@pytest.mark.parametrize("broker_kind", ["kafka"], indirect=True)
def test_demo_runs_end_to_end_on_kafka_and_exits_when_done(broker_kind: str, broker_factory: BrokerFactory) -> None:
    """Given a fresh Apache Kafka, as a user with a cluster would (``LEADPIPE_BOOTSTRAP_SERVERS``), the
    demo's worker checks recovery consistency; ``--exit-when-done`` stops it after the summary. On
    Tansu, where it starts its own broker, the test below runs it until Ctrl-C."""
    tag = uuid.uuid4().hex
    env = _demo_env(tag)
    kafka = broker_factory(broker_kind, "demo")
    try:
        env["LEADPIPE_BOOTSTRAP_SERVERS"] = kafka.start()
        result = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--leads", "40", "--exit-when-done"],
                                env=env, capture_output=True, text=True, timeout=300)
    finally:
        kafka.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    _assert_the_story_was_told(result.stdout)
    assert not _wait_gone(tag), "the demo left processes behind"


class _Lines:
    """Reads a child's output on a thread (the demo keeps printing; an unread pipe would block it)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._proc = proc
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if text in line:
                    return line
            if self._proc.poll() is not None and not self._thread.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not in the demo output:\n{self.text()}")

    def text(self) -> str:
        return "".join(self.lines)

    def join(self) -> None:
        self._thread.join(10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()


def _topic_funnel(tail: TopicTail) -> dict[str, int]:
    """The funnel counted from the topics, without the console's aggregator."""
    def records(topic: str) -> list[dict[str, Any]]:
        return [r.record for r in tail.records(topic) if r.record is not None]

    decisions = records(LEAD_DECISION)
    captures = {r["event_id"] for r in records(LEAD_CAPTURED)}
    return {
        "captured": len(captures),
        "callable": len({d["lead_id"] for d in decisions if d["outcome"] == "CALL_READY"}),
        "qualified": len({q["lead_id"] for q in records(QUALIFIED_LEAD) if q["lead_status"] == "QUALIFIED"}),
    }


def test_demo_runs_end_to_end_its_dashboard_matches_the_topics_and_ctrl_c_stops_everything(
        tmp_path: Path) -> None:
    """The README's first command as a user runs it, on its own embedded broker: every part shows in
    the outputs and the summary, then the dashboard it prints is read in headless chromium while
    web-form traffic goes on, then Ctrl-C. Started with SIGINT ignored, as a background job of a shell
    script is (``trap '' INT`` then ``exec``: the same process, the disposition inherited): Ctrl-C must
    stop it all the same. A suite run started that way here once saw the demo run on for 90 s after Ctrl-C."""
    tag = uuid.uuid4().hex
    command = f"trap '' INT; exec {shlex.quote(sys.executable)} -m pipeline.cli demo --leads 40"
    proc = subprocess.Popen(["sh", "-c", command], env=_demo_env(tag),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = _Lines(proc)
    tail = None
    try:
        broker = re.search(r"broker at (\S+);", out.wait_for("▶ broker at", 120))
        url = re.search(r"(http://\S+/dashboard#key=\S+)", out.wait_for("▶ dashboard", 180))  # logs in
        out.wait_for("Ctrl-C to stop", 300)
        _assert_the_story_was_told(out.text())
        assert broker is not None and url is not None
        assert _processes_tagged(tag), "the demo should be running its processes"

        settings = Settings().with_bootstrap(broker.group(1))
        tail = TopicTail(settings.kafka_client_config(), make_codec(settings),
                         [LEAD_CAPTURED, LEAD_DECISION, QUALIFIED_LEAD]).start()
        with headless_chromium(tmp_path / "chromium-profile") as browser:
            browser.get(url.group(1))
            # New web-form leads keep arriving every few seconds: compare until one moment agrees.
            deadline = time.monotonic() + 60
            page: dict[str, Any] = {}
            expected: dict[str, int] = {}
            while time.monotonic() < deadline:
                expected = _topic_funnel(tail)
                page = read_dashboard(browser)
                if expected["captured"] > 40 and all(page[k] == v for k, v in expected.items()):
                    break
                time.sleep(0.3)
            assert all(page.get(k) == v for k, v in expected.items()), (page, expected)
            assert expected["qualified"] >= 1 and expected["captured"] > 40  # the trickle goes on after the summary
    finally:
        if tail is not None:
            tail.stop()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        stopped_in_time = True
        try:
            proc.wait(90)
        except subprocess.TimeoutExpired:
            stopped_in_time = False
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            out.join()
    assert stopped_in_time, "the demo did not stop within 90 s of Ctrl-C:\n" + out.text()[-4000:]
    assert proc.returncode == 0, out.text()
    assert "stopped: dialer, CRM connector and sink, console, gateway, worker and broker are down" in out.text()
    assert not _wait_gone(tag), "Ctrl-C left processes behind"
