"""The README's main command: ``leadpipe demo`` runs everything and stops without leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import NOW

pytestmark = pytest.mark.integration


def _our_processes() -> set[int]:
    """Pids of Tansu brokers and leadpipe workers running on this machine."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    pids = set()
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if "tansu" in args or "pipeline.cli worker" in args:
            pids.add(int(pid))
    return pids


def _demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
    env["LEADPIPE_FIXED_CLOCK"] = NOW.isoformat()  # a US afternoon: every kind of outcome shows up
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_demo_runs_end_to_end_and_leaves_no_processes() -> None:
    before = _our_processes()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "demo", "--leads", "40", "--exit-when-done"],
                            env=_demo_env(), capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for marker in ("CALL_READY", "SUPPRESSED", "REJECTED", "DEAD-LETTER", "QUALIFIED", "WITHDRAW", "summary"):
        assert marker in out, f"{marker} missing from demo output:\n{out}"
    assert "dead-letter:    2 records" in out
    time.sleep(0.5)
    assert _our_processes() <= before


def test_demo_stops_cleanly_on_ctrl_c() -> None:
    before = _our_processes()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "demo", "--leads", "20"], env=_demo_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C to stop" in line or time.monotonic() > deadline:
            break
    assert any("Ctrl-C to stop" in line for line in lines), "".join(lines)
    started = _our_processes() - before
    assert started, "the demo should be running a broker and a worker"
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(lines) + rest
    assert "stopped: worker and broker are down" in rest
    time.sleep(0.5)
    assert not (_our_processes() & started)
