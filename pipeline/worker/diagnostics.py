"""What a stuck worker is waiting for: ``kill -USR2 <worker pid>`` logs the consumer's partition
state (Faust's view and aiokafka's) and every asyncio task with the chain of awaits it is suspended
in. Diagnostics only: it reads private attributes and changes nothing."""

from __future__ import annotations

import asyncio
import gc
import inspect
import io
import logging
from typing import Any

log = logging.getLogger("leadpipe")


def log_tasks(app: Any) -> None:
    """Log the consumer's flow state and every pending asyncio task with the stack it is suspended in."""
    consumer = app.consumer
    log.warning("consumer (SIGUSR2): flow_active=%s app flow=%s rebalancing=%s assigned=%s active=%s paused=%s",
                getattr(consumer, "flow_active", "?"), app.flow_control.is_active(), app.rebalancing,
                sorted(map(tuple, consumer.assignment())), sorted(map(tuple, consumer._active_partitions or ())),
                sorted(map(tuple, consumer._paused_partitions)))
    try:  # aiokafka's own view, from its thread (racy, for reading only)
        inner = consumer._thread._ensure_consumer()
        assignment = inner._subscription.subscription.assignment
        lines = []
        for tp in sorted(assignment.tps):
            st = assignment.state_value(tp)
            lines.append(f"{tp.topic}/{tp.partition} status={st._status} pos={st._position} hw={st.highwater} "
                         f"lso={st.lso} paused={st.paused}")
        log.warning("aiokafka partitions (SIGUSR2):\n%s\nfetcher records: %s", "\n".join(lines),
                    {str(k): len(v._records) if hasattr(v, "_records") else "?" for k, v in
                     getattr(inner._fetcher, "_records", {}).items()})
    except Exception as exc:  # diagnostics only
        log.warning("aiokafka state unavailable: %r", exc)
    tasks = asyncio.all_tasks()
    out = io.StringIO()
    for task in tasks:
        out.write(f"{task.get_name()}: {_chain(task.get_coro())}\n")
    # An agent's own coroutine is awaited through Faust's actor wrapper, where the chain above stops.
    for obj in gc.get_objects():
        if inspect.iscoroutine(obj) and obj.cr_frame is not None and "create_app" in obj.__qualname__:
            out.write(f"coroutine {obj.__qualname__}: {_chain(obj)}\n")
    log.warning("%d asyncio tasks (SIGUSR2):\n%s", len(tasks), out.getvalue())


def _chain(coro: Any) -> str:
    """Where ``coro`` is suspended: each awaited coroutine, generator or async generator in turn."""
    chain: list[str] = []
    while coro is not None and len(chain) < 30:
        frame = next((f for f in (getattr(coro, a, None) for a in ("cr_frame", "gi_frame", "ag_frame")) if f), None)
        if frame is not None:
            chain.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        awaited = (getattr(coro, a, None) for a in ("cr_await", "gi_yieldfrom", "ag_await"))
        coro = next((c for c in awaited if c is not None), None)
    return " -> ".join(chain)
