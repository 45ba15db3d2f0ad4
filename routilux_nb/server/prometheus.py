"""Prometheus ``/metrics``: a per-app registry whose collector reads the runtime at scrape time.

Nothing is counted per event: the engine's monitor already keeps the numbers (flow stats,
per-worker routine metrics, queue states, per-job event totals), and a scrape turns them into
metric families. ``routilux_events_total`` sums the events recorded for the jobs in memory
and remembers the totals of jobs evicted since the previous scrape, so it never goes down.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
    SummaryMetricFamily,
)

from routilux_nb.core.clock import now

from .ws_protocol import ws_stats

__all__ = ["JOB_STATUSES", "RuntimeCollector", "WORKER_STATUSES", "registry_for", "router"]

router = APIRouter(tags=["metrics"])
_registry_lock = threading.Lock()

JOB_STATUSES = ("pending", "running", "paused", "completed", "failed", "cancelled")
WORKER_STATUSES = ("running", "paused", "stopped")


class RuntimeCollector:
    """A ``prometheus_client`` custom collector over the runtime of an app."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._job_events: dict[str, int] = {}
        self._retired_events = 0
        self._lock = threading.Lock()

    def _events_total(self, jobs: list[Any]) -> int:
        with self._lock:
            current: dict[str, int] = {
                j.job_id: j.monitor.metrics.total_events for j in jobs if j.monitor is not None
            }
            self._retired_events += sum(
                n for jid, n in self._job_events.items() if jid not in current
            )
            self._job_events = current
            return self._retired_events + sum(current.values())

    def collect(self) -> Iterator[Metric]:
        from routilux_nb import __version__

        rt = self.app.state.runtime
        mon = rt.monitor
        jobs = rt.jobs()
        workers = list(rt.workers.values())

        info = InfoMetricFamily("routilux", "routilux_nb version")
        info.add_metric([], {"version": __version__})
        yield info
        started = getattr(mon, "started_at", None) or now()
        yield GaugeMetricFamily(
            "routilux_uptime_seconds",
            "Seconds since the runtime started",
            value=max(0.0, now() - started),
        )

        by_status = Counter(j.status for j in jobs)
        g = GaugeMetricFamily("routilux_jobs", "Jobs kept in memory, by status", labels=["status"])
        for status in JOB_STATUSES:
            g.add_metric([status], by_status.get(status, 0))
        yield g

        w_status = Counter(w.status for w in workers)
        g = GaugeMetricFamily("routilux_workers", "Workers, by status", labels=["status"])
        for status in WORKER_STATUSES:
            g.add_metric([status], w_status.get(status, 0))
        yield g

        finished = CounterMetricFamily(
            "routilux_jobs_finished",
            "Jobs finished, by flow and outcome",
            labels=["flow_id", "status"],
        )
        for flow_id, stats in list(getattr(mon, "flow_stats", {}).items()):
            for status in ("completed", "failed", "cancelled"):
                finished.add_metric([flow_id, status], getattr(stats, status))
        yield finished

        yield CounterMetricFamily(
            "routilux_events",
            "Monitor events recorded (trace events of all jobs)",
            value=self._events_total(jobs),
        )
        bus = getattr(mon, "bus", None)
        yield CounterMetricFamily(
            "routilux_bus_messages",
            "Messages published on the monitor event bus",
            value=bus.published if bus is not None else 0,
        )
        yield GaugeMetricFamily(
            "routilux_websocket_clients",
            "Connected WebSocket clients",
            value=ws_stats(self.app).connected_clients,
        )
        yield from self._routine_families(rt, mon, workers)
        yield self._queue_family(workers)

    def _routine_families(self, rt: Any, mon: Any, workers: list[Any]) -> Iterator[Metric]:
        execs = CounterMetricFamily(
            "routilux_routine_executions", "Routine activations", labels=["flow_id", "routine_id"]
        )
        errors = CounterMetricFamily(
            "routilux_routine_errors",
            "Routine activations that raised",
            labels=["flow_id", "routine_id"],
        )
        durations = SummaryMetricFamily(
            "routilux_routine_duration_seconds",
            "Routine activation time",
            labels=["flow_id", "routine_id"],
        )
        merged: dict[tuple[str, str], list[Any]] = {}
        flow_of = {w.worker_id: w.flow_id for w in workers}
        for wid, wm in list(getattr(mon, "workers", {}).items()):
            flow_id = flow_of.get(wid)
            if flow_id is None:
                continue
            for rid, m in list(wm.routines.items()):
                acc = merged.setdefault((flow_id, rid), [0, 0, 0.0])
                acc[0] += m.execution_count
                acc[1] += m.error_count
                acc[2] += m.total_duration
        for (flow_id, rid), (count, errs, total) in sorted(merged.items()):
            execs.add_metric([flow_id, rid], count)
            errors.add_metric([flow_id, rid], errs)
            durations.add_metric([flow_id, rid], count_value=count, sum_value=total)
        yield execs
        yield errors
        yield durations

    @staticmethod
    def _queue_family(workers: list[Any]) -> Metric:
        g = GaugeMetricFamily(
            "routilux_queue_depth",
            "Unconsumed items in a slot queue",
            labels=["worker_id", "routine_id", "slot"],
        )
        for w in workers:
            if w.status == "stopped":
                continue
            for rid, queues in w.queue_status().items():
                for q in queues:
                    g.add_metric([w.worker_id, rid, q["slot_name"]], q["unconsumed_count"])
        return g


def registry_for(app: Any) -> CollectorRegistry:
    """The app's own registry (created on the first scrape), holding its :class:`RuntimeCollector`."""
    with _registry_lock:
        reg = getattr(app.state, "prometheus_registry", None)
        if reg is None:
            reg = CollectorRegistry(auto_describe=False)
            reg.register(RuntimeCollector(app))
            app.state.prometheus_registry = reg
        return reg


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(request: Request) -> Response:
    """Prometheus text exposition of the runtime's jobs, workers, routines and queues."""
    return Response(generate_latest(registry_for(request.app)), media_type=CONTENT_TYPE_LATEST)
