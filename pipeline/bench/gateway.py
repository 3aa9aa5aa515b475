"""``leadpipe bench --gateway``: accepted leads/s and latency of the HTTP ingest gateway.

The embedded broker (unless a cluster is configured), every topic, one ``leadpipe gateway`` process,
and load from ``wrk`` on loopback: a Lua script POSTs JSON leads, each with its own phone number and
lead id. Every request waits for the broker's acknowledgement before its 202, so accepted/s is
acknowledged writes per second. Each connection count is run ``runs`` times and medians are
reported: a moderate count (latency while the gateway keeps up) and higher ones (the most it
accepts). After the runs, the records on ``lead-captured`` are counted and must be at least the
number of 202 answers: never a 202 for something not stored.

wrk is closed-loop (each connection sends its next request when the answer arrives), so its
latencies do not include the time a request would have waited had it been sent on a fixed schedule;
the moderate-connection run is the honest latency figure.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.bench.end_to_end import bench_site
from pipeline.config import Settings
from pipeline.kafka_clients import TopicTail
from pipeline.processes import GatewayProcess
from pipeline.topics import LEAD_CAPTURED

GOAL_ACCEPTED_PER_S = 3000.0
GOAL_P99_MS = 25.0
CONNECTIONS = (4, 16, 64)
BENCH_KEY = "bench-key-" + "0" * 16
INSTALL_HINT = ("wrk is not on PATH: install it (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install wrk) "
                "and run again")

LUA = r"""
-- Each wrk thread numbers its own requests; phone numbers and lead ids never repeat within a bench.
local thread_id = 0
function setup(thread)
  thread:set("tid", thread_id)
  thread_id = thread_id + 1
end
local counter = 0
request = function()
  counter = counter + 1
  local n = BASE + tid * 200000 + counter
  local area = ({212, 305, 415, 617})[(n % 4) + 1]
  local body = string.format('{"lead_id":"B%s-%d-%d","phone":"+1%d%07d","country":"US","campaign_id":"solar-q4",'
    .. '"first_name":"Sam","last_name":"Lee","email":"sam.lee@example.com","consent":{"purpose":"marketing",'
    .. '"channel":"ANY","granted_at":"2026-11-24T16:57:00Z","consent_text":"I agree to be called."},'
    .. '"attributes":{"timeline":"this_month","budget":"15000"}}',
    RUN, tid, counter, area, 2000000 + (math.floor(n / 4) % 7999999))
  return wrk.format("POST", "/v1/leads", {["Content-Type"]="application/json", ["X-API-Key"]=KEY}, body)
end
done = function(summary, latency, requests)
  io.write(string.format('RESULT {"requests": %d, "non2xx": %d, "socket_errors": %d, "duration_us": %d, '
    .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class WrkRun:
    connections: int
    requests: int
    non2xx: int
    socket_errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def accepted(self) -> int:
        """202 answers: requests answered without an HTTP error or a socket error."""
        return self.requests - self.non2xx - self.socket_errors

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.seconds


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU time a process has used (Linux /proc), or None where that is not available."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3 of stat(5), utime and stime fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _script(workdir: Path, run: str, base: int) -> Path:
    path = workdir / f"leads-{run}.lua"
    path.write_text(f'RUN = "{run}"\nBASE = {base}\nKEY = "{BENCH_KEY}"\n' + LUA)
    return path


def wrk_run(wrk: str, url: str, script: Path, *, connections: int, threads: int, seconds: float) -> WrkRun:
    """One wrk run; raise if wrk fails or prints no result."""
    done = subprocess.run(  # noqa: S603 - wrk from PATH with arguments built here
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, timeout=seconds + 60, check=True)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    r = json.loads(line.removeprefix("RESULT "))
    return WrkRun(connections, r["requests"], r["non2xx"], r["socket_errors"], r["duration_us"] / 1e6,
                  r["p50_us"] / 1000, r["p99_us"] / 1000, r["max_us"] / 1000)


def run_gateway_bench(settings: Settings, *, seconds: float = 10.0, runs: int = 3,
                      connections: tuple[int, ...] = CONNECTIONS, threads: int = 1, broker: str = "tansu",
                      figures: dict[str, str] | None = None) -> int:
    say: Callable[[str], None] = lambda s: print(s, flush=True)  # noqa: E731
    kept = figures if figures is not None else {}
    wrk = shutil.which("wrk")
    if wrk is None:
        say(f"leadpipe bench --gateway: {INSTALL_HINT}")
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="leadpipe-gateway-bench-"))
    keys = workdir / "keys.json"
    keys.write_text(json.dumps({"keys": [{"key_id": "bench", "source": "bench", "key": BENCH_KEY,
                                          "hmac_secret": None}]}))
    gateway: GatewayProcess | None = None
    try:
        with bench_site(settings, "gateway-bench", broker) as site:
            env = {k: v for k, v in os.environ.items() if not k.startswith("LEADPIPE_")}
            gateway = GatewayProcess(bootstrap=site.settings.bootstrap_servers or "", api_keys_path=keys, env=env,
                                     log_path=workdir / "gateway.log")
            gateway.start().wait_ready(timeout_s=30)
            say(f"leadpipe bench --gateway: wrk -t{threads}, {seconds:g} s per run, {runs} runs per connection "
                f"count, medians; broker {site.settings.bootstrap_servers} ({site.broker_name}); gateway pid "
                f"{gateway.pid}; {os.cpu_count()} CPUs shared by wrk, the gateway and the broker")
            base = 0
            url = gateway.url

            def one(c: int, secs: float) -> WrkRun:
                nonlocal base
                base += 1_000_000  # a run sends well under 200,000 requests per wrk thread
                return wrk_run(wrk, url, _script(workdir, uuid.uuid4().hex[:8], base), connections=c,
                               threads=threads, seconds=secs)

            warm = one(max(connections), 2.0)  # connection set-up, JIT-free warm caches, broker batches
            total_accepted = warm.accepted
            medians: dict[int, tuple[float, float, float]] = {}
            for c in connections:
                cpu_before = cpu_seconds(gateway.pid)
                done = [one(c, seconds) for _ in range(runs)]
                cpu_after = cpu_seconds(gateway.pid)
                total_accepted += sum(r.accepted for r in done)
                cpu_per_lead = (f"{(cpu_after - cpu_before) / sum(r.accepted for r in done) * 1e6:.0f} µs"
                                if cpu_before is not None and cpu_after is not None else "n/a")
                rate = statistics.median(r.accepted_per_s for r in done)
                p50 = statistics.median(r.p50_ms for r in done)
                p99 = statistics.median(r.p99_ms for r in done)
                medians[c] = (rate, p50, p99)
                kept[f"gateway, {c} connections"] = f"{rate:,.0f}/s p99 {p99:.1f} ms"
                verdict = "met" if rate >= GOAL_ACCEPTED_PER_S and p99 <= GOAL_P99_MS else "not met"
                say(f"  {c:>3} connections: {rate:>7,.0f} accepted/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
                    f"goal {verdict}  gateway CPU/lead {cpu_per_lead}   runs: " + "; ".join(
                        f"{r.accepted_per_s:,.0f}/s p99 {r.p99_ms:.1f} ms max {r.max_ms:.0f} ms"
                        f" non-2xx {r.non2xx} socket errors {r.socket_errors}" for r in done))
            best = max(medians, key=lambda c: medians[c][0])
            light = min(connections)
            say(f"max throughput ({best} connections): {medians[best][0]:,.0f} accepted/s, "
                f"p99 {medians[best][2]:.1f} ms")
            say(f"light load ({light} connections): {medians[light][0]:,.0f} accepted/s, "
                f"p99 {medians[light][2]:.1f} ms")
            say(f"goal: >= {GOAL_ACCEPTED_PER_S:,.0f} accepted leads/s with p99 <= {GOAL_P99_MS:.0f} ms on one process")
            tail = TopicTail(site.settings.kafka_client_config(), site.codec, [LEAD_CAPTURED]).start()
            try:
                written = len(tail.wait_for(LEAD_CAPTURED, lambda r: True, count=total_accepted, timeout_s=120))
            except TimeoutError:
                written = len(tail.records(LEAD_CAPTURED))
            finally:
                tail.stop()
            # More records than 202s: requests in flight when wrk stopped were written, never counted.
            stored = written >= total_accepted
            say(f"records on {LEAD_CAPTURED}: {written:,} for {total_accepted:,} answers 202 "
                + ("(every 202 stored; the rest were in flight when wrk stopped)" if stored else "(MISSING RECORDS)"))
            return 0 if stored else 1
    finally:
        if gateway is not None:
            gateway.stop()
        shutil.rmtree(workdir, ignore_errors=True)
