"""Prometheus text exposition (format 0.0.4) for report figures and a small histogram. Pure."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.reporting.aggregate import Figures, Report

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds: opt-out to blocked is milliseconds when healthy and seconds under a backlog."""

OPTOUT_LATENCY = "leadpipe_optout_to_blocked_seconds"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass
class Histogram:
    """A cumulative histogram (Prometheus semantics), buckets are upper bounds in seconds."""

    buckets: Sequence[float] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * len(self.buckets)

    def observe(self, value: float) -> None:
        self.sum += value
        self.count += 1
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1

    def merge(self, other: Histogram) -> None:
        """Add ``other`` (same buckets) into this one."""
        if tuple(other.buckets) != tuple(self.buckets):
            raise ValueError("histograms with different buckets cannot be merged")
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.sum += other.sum
        self.count += other.count

    def quantile(self, q: float) -> float | None:
        """The upper bound of the bucket holding the ``q`` quantile (None when empty or beyond the
        last bucket): a bound, not an estimate inside the bucket."""
        if self.count == 0:
            return None
        rank = q * self.count
        for bound, cumulative in zip(self.buckets, self.counts, strict=True):
            if cumulative >= rank:
                return bound
        return None

    def render(self, name: str, help_text: str) -> str:
        lines = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        for bound, cumulative in zip(self.buckets, self.counts, strict=True):
            lines.append(f'{name}_bucket{{le="{_num(bound)}"}} {cumulative}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.sum:.6f}")
        lines.append(f"{name}_count {self.count}")
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "sum_s": self.sum,
                "mean_s": None if self.count == 0 else self.sum / self.count,
                "p50_le_s": self.quantile(0.5), "p99_le_s": self.quantile(0.99),
                # A list, not an object: JavaScript orders integer-like keys ("1", "5") first.
                "buckets": [[b, c] for b, c in zip(self.buckets, self.counts, strict=True)]}


_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')


def parse_histogram(text: str, name: str) -> Histogram | None:
    """The histogram ``name`` in Prometheus text, or None when absent or its buckets are not ours."""
    bounds: list[float] = []
    counts: list[int] = []
    total = 0.0
    count: int | None = None
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m is None:
            continue
        metric, labels, value = m["name"], m["labels"] or "", m["value"]
        try:
            number = float(value)
        except ValueError:
            continue
        if metric == f"{name}_bucket":
            le = re.search(r'le="([^"]+)"', labels)
            if le is None or le[1] == "+Inf":
                continue
            bounds.append(float(le[1]))
            counts.append(int(number))
        elif metric == f"{name}_sum":
            total = number
        elif metric == f"{name}_count":
            count = int(number)
    if count is None or tuple(bounds) != LATENCY_BUCKETS:
        return None
    return Histogram(buckets=LATENCY_BUCKETS, counts=counts, sum=total, count=count)


FUNNEL = ("captured", "valid", "duplicates", "callable", "contacted", "qualified")


def _figures_lines(prefix: str, f: Figures, labels: Mapping[str, str], out: dict[str, list[str]]) -> None:
    for stage in FUNNEL:
        out.setdefault(f"{prefix}_{stage}", []).append(f"{prefix}_{stage}{_labels(labels)} {getattr(f, stage)}")
    for group, codes in sorted(f.reasons.items()):
        for code, n in sorted(codes.items()):
            out.setdefault(f"{prefix}_reasons", []).append(
                f"{prefix}_reasons{_labels({**labels, 'outcome': group, 'code': code})} {n}")
    for flag, n in sorted(f.quality_flags.items()):
        out.setdefault(f"{prefix}_quality_flags", []).append(
            f"{prefix}_quality_flags{_labels({**labels, 'flag': flag})} {n}")
    for name in ("snoozed", "stranded_offers", "stale_leads"):
        out.setdefault(f"{prefix}_{name}", []).append(f"{prefix}_{name}{_labels(labels)} {getattr(f, name)}")
    for status, n in sorted(f.statuses.items()):
        out.setdefault(f"{prefix}_statuses", []).append(f"{prefix}_statuses{_labels({**labels, 'status': status})} {n}")
    for name, figure in f.health().items():
        value = figure["value"]
        if value is not None:
            out.setdefault(f"leadpipe_health_{name}", []).append(
                f"leadpipe_health_{name}{_labels(labels)} {value:.6f}")


_HELP = {
    "leadpipe_report_captured": ("counter", "lead-captured records (distinct event ids)"),
    "leadpipe_report_valid": ("counter", "captured leads whose decision is not REJECTED"),
    "leadpipe_report_duplicates": ("counter", "captured leads decided DUPLICATE"),
    "leadpipe_report_callable": ("counter", "distinct leads with a CALL_READY decision"),
    "leadpipe_report_contacted": ("counter", "distinct leads with a CONTACT call outcome"),
    "leadpipe_report_qualified": ("counter", "distinct leads on qualified-lead"),
    "leadpipe_report_reasons": ("counter", "decision reasons by outcome and code; DISQUALIFIED from call outcomes"),
    "leadpipe_report_quality_flags": ("counter", "quality flags on lead decisions"),
    "leadpipe_report_snoozed": ("gauge", "distinct leads with a NOT_NOW outcome (a snooze, not a do-not-call)"),
    "leadpipe_report_statuses": ("gauge", "leads by the lead_status of their latest decision"),
    "leadpipe_report_stranded_offers": (
        "gauge", "leads whose latest READY's window closed with no outcome or decision since (target 0)"),
    "leadpipe_report_stale_leads": ("gauge", "leads closed STALE: offered again and again, never worked"),
    "leadpipe_health_non_working_share": (
        "gauge", "dialed numbers with a NON_WORKING outcome / dialed (target < 0.15)"),
    "leadpipe_health_contact_rate": ("gauge", "dialed numbers with a CONTACT outcome / dialed (target > 0.22)"),
    "leadpipe_health_duplicate_share": ("gauge", "captured decided DUPLICATE / captured (target < 0.05)"),
    "leadpipe_health_no_interaction_90d_share": (
        "gauge", "leads without capture or call outcome in 90 days / leads (target < 0.30)"),
}


def render_report(report: Report, *, lag: Iterable[Mapping[str, Any]] = (), latency: Histogram | None = None,
                  extra: Mapping[str, float] | None = None) -> str:
    """The report as Prometheus text: totals without labels, groups with campaign/source/segment."""
    out: dict[str, list[str]] = {}
    _figures_lines("leadpipe_report", report.totals, {}, out)
    for (campaign, source, segment), figures in sorted(report.groups.items()):
        _figures_lines("leadpipe_report", figures, {"campaign": campaign, "source": source, "segment": segment}, out)
    lines: list[str] = []
    for name, samples in out.items():
        kind, help_text = _HELP.get(name, ("gauge", name))
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]

    def simple(name: str, kind: str, help_text: str, samples: Iterable[tuple[Mapping[str, str], float]]) -> None:
        rows = [f"{name}{_labels(labels)} {_num(value)}" for labels, value in samples]
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *rows])

    simple("leadpipe_report_records", "counter", "distinct records read per topic",
           (({"topic": t}, n) for t, n in sorted(report.records.items())))
    simple("leadpipe_report_opt_outs", "counter", "opt-out records by action",
           (({"action": a}, n) for a, n in sorted(report.opt_outs.items())))
    simple("leadpipe_report_call_ready", "counter", "call-ready records by action",
           (({"action": a}, n) for a, n in sorted(report.call_ready.items())))
    simple("leadpipe_report_dead_letters", "counter", "dead-letter records by input topic and stage",
           (({"where": w}, n) for w, n in sorted(report.dead_letters.items())))
    lag_rows = list(lag)
    simple("leadpipe_consumer_lag", "gauge",
           "high-water mark minus committed offset of the worker group (approximate on Tansu)",
           (({"group": str(r["group"]), "topic": str(r["topic"]), "partition": str(r["partition"])}, r["lag"])
            for r in lag_rows if r.get("lag") is not None))
    for name, value in sorted((extra or {}).items()):
        simple(name, "gauge", name, [({}, value)])
    text = "\n".join(lines) + "\n"
    if latency is not None:
        text += latency.render(OPTOUT_LATENCY, "opt-out Kafka timestamp to suppression applied in the worker")
    return text
