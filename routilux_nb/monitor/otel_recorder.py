"""The OpenTelemetry recorder: the engine's hooks turned into spans and metrics.

See :mod:`routilux_nb.monitor.otel` for what is recorded and how to configure it; this module
imports OpenTelemetry and is only imported once export is configured.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics as otel_metrics
from opentelemetry import trace as otel_trace
from opentelemetry.trace import Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from routilux_nb import __version__
from routilux_nb.core.job import FINISHED

from .otel_frames import spans_frame
from .tracecontext import current_incoming

if TYPE_CHECKING:
    from routilux_nb.core.context import ActivationContext
    from routilux_nb.core.job import JobContext, Parked

__all__ = ["OTelRecorder"]

_PROPAGATOR = TraceContextTextMapPropagator()
_NS = 1_000_000_000


def _hex_ids(span: Any) -> tuple[str, str]:
    sc = span.get_span_context()
    return format(sc.trace_id, "032x"), format(sc.span_id, "016x")


class OTelRecorder:
    """Receives the engine's hooks (through :class:`TeeMonitor`) and records spans and metrics.

    Bounded: ids of the last ``max_jobs`` jobs and rows of the last ``max_spans`` spans are
    kept for :meth:`spans_frame`; open spans are only those of unfinished jobs.
    """

    def __init__(
        self,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        *,
        max_jobs: int = 10_000,
        max_spans: int = 100_000,
        owns_providers: bool = False,
    ) -> None:
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.owns_providers = owns_providers
        self.tracer = otel_trace.get_tracer(
            "routilux_nb", __version__, tracer_provider=tracer_provider
        )
        meter = otel_metrics.get_meter("routilux_nb", __version__, meter_provider=meter_provider)
        self.runtime: Any = None
        self._lock = threading.Lock()
        self._jobs: dict[str, Any] = {}  # open job spans
        self._ctx: dict[str, Any] = {}  # their contexts, the parent of every activation span
        self._acts: dict[int, tuple[Any, Any, Any]] = {}  # id(act) -> (span, token, row)
        self.job_ids: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self.max_jobs = max_jobs
        self.rows: deque[tuple[Any, ...]] = deque(maxlen=max_spans)
        # counts are kept here (a dict increment per activation) and read at collection time
        self._act_counts: dict[tuple[str, str, str], int] = {}
        self._job_counts: dict[tuple[str, str], int] = {}
        self._attrs: dict[tuple[str, ...], dict[str, str]] = {}
        meter.create_observable_counter(
            "routilux.activations", [self._observe_activations], "1", "routine activations run"
        )
        self.activation_duration = meter.create_histogram(
            "routilux.activation.duration", "s", "time routine logic took per activation"
        )
        meter.create_observable_counter(
            "routilux.jobs", [self._observe_jobs], "1", "jobs finished, by final status"
        )
        self.job_duration = meter.create_histogram("routilux.job.duration", "s", "job duration")
        self.errors = meter.create_counter(
            "routilux.routine.errors", "1", "routine errors, by strategy"
        )
        self.backpressure_waits = meter.create_counter(
            "routilux.backpressure.waits",
            "1",
            "emits that found a target slot full and waited for room",
        )
        meter.create_observable_gauge(
            "routilux.queue.depth",
            [self._queue_depth],
            "1",
            "items queued in a slot and not yet consumed",
        )

    # -- hooks ---------------------------------------------------------------------------
    def attach(self, runtime: Any) -> None:
        self.runtime = runtime

    def job_created(self, job: JobContext) -> None:
        incoming = current_incoming()
        if incoming is not None:
            carrier = {"traceparent": incoming[0]}
            if incoming[1]:
                carrier["tracestate"] = incoming[1]
            parent = _PROPAGATOR.extract(carrier)
        else:
            parent = None  # the span active on the submitting thread, if any
        span = self.tracer.start_span(
            f"routilux.job {job.flow_id}",
            context=parent,
            start_time=int(job.created_at * _NS),
            attributes={
                "routilux.job_id": job.job_id,
                "routilux.flow_id": job.flow_id,
                "routilux.worker_id": job.worker_id,
            },
        )
        trace_id, span_id = _hex_ids(span)
        job.metadata["otel.trace_id"] = trace_id
        job.metadata["otel.span_id"] = span_id
        with self._lock:
            self._jobs[job.job_id] = span
            self._ctx[job.job_id] = otel_trace.set_span_in_context(span)
            ids = self.job_ids
            ids[job.job_id] = (trace_id, span_id)
            while len(ids) > self.max_jobs:
                ids.popitem(last=False)

    def job_status(self, job: JobContext, old: str) -> None:
        status = job.status
        if status not in FINISHED:
            span = self._jobs.get(job.job_id)
            if span is not None and (status == "paused" or old == "paused"):
                span.add_event("paused" if status == "paused" else "resumed")
            return
        with self._lock:
            span = self._jobs.pop(job.job_id, None)
            self._ctx.pop(job.job_id, None)
        key = (job.flow_id, status)
        attrs = self._attrs.get(key)
        if attrs is None:
            attrs = self._attrs[key] = {"routilux.flow_id": job.flow_id, "routilux.status": status}
        with self._lock:
            self._job_counts[key] = self._job_counts.get(key, 0) + 1
        if job.duration is not None:
            self.job_duration.record(job.duration, attrs)
        if span is None:
            return
        span.set_attribute("routilux.status", status)
        if status == "failed":
            span.set_status(Status(StatusCode.ERROR, job.error or "failed"))
            if job.error_type:
                span.set_attribute("error.type", job.error_type)
        elif status == "cancelled" and job.cancel_reason:
            span.set_attribute("routilux.cancel_reason", job.cancel_reason)
        span.end(end_time=int(job.completed_at * _NS) if job.completed_at else None)

    def activation_start(self, act: ActivationContext) -> None:
        job = act.job
        rid = act.routine.routine_id
        job_span = self._jobs.get(job.job_id)
        parent = self._ctx.get(job.job_id)
        if job_span is not None and parent is not None and not job_span.is_recording():
            # an unsampled job: its activations are not sampled either (parent-based
            # sampling), so no span is made; logic still runs inside the job's context
            self._acts[id(act)] = (None, otel_context.attach(parent), None)
            return
        items = sum(len(v) for v in act.inputs.values()) if isinstance(act.inputs, Mapping) else 0
        attrs: dict[str, str | int] = {
            "routilux.job_id": job.job_id,
            "routilux.flow_id": job.flow_id,
            "routilux.routine_id": rid,
            "routilux.activation_id": act.act_id,
            "routilux.attempt": act.attempt,
            "routilux.items": items,
        }
        span = self.tracer.start_span(
            f"routilux.activation {rid}", context=parent, attributes=attrs
        )
        token = otel_context.attach(otel_trace.set_span_in_context(span))
        trace_id, span_id = _hex_ids(span)
        parent_id = self.job_ids.get(job.job_id, (None, None))[1] if job_span is not None else None
        row = [
            trace_id,
            span_id,
            parent_id,
            "activation",
            job.job_id,
            job.flow_id,
            rid,
            act.act_id,
            None,  # seq: known once the monitor wrote the activation (its end)
            act.attempt,
            items,
            None,
            None,
            None,
        ]
        self._acts[id(act)] = (span, token, row)

    def activation_end(
        self, act: ActivationContext, duration: float, error: BaseException | None
    ) -> None:
        entry = self._acts.pop(id(act), None)
        if entry is None:
            return
        span, token, row = entry
        try:
            otel_context.detach(token)
        except Exception:  # pragma: no cover - a context switched under us: never break a job
            pass
        status = "ok" if error is None else "error"
        key = (act.job.flow_id, act.routine.routine_id, status)
        attrs = self._attrs.get(key)
        if attrs is None:
            attrs = self._attrs[key] = {
                "routilux.flow_id": key[0],
                "routilux.routine_id": key[1],
                "routilux.status": status,
            }
        with self._lock:
            self._act_counts[key] = self._act_counts.get(key, 0) + 1
        self.activation_duration.record(duration, attrs)
        if span is None:
            return
        seq = _start_seq(act.job, act.routine.routine_id)
        if seq is not None:
            span.set_attribute("routilux.seq", seq)
            row[8] = seq
        span.set_attribute("routilux.status", status)
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.record_exception(error)
        span.end()
        row[11] = status
        start = getattr(span, "start_time", None)
        row[12] = start / _NS if start else None
        row[13] = duration
        self.rows.append(tuple(row))

    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None:
        worker = act.worker
        queues = worker.parking.schedule.queues  # the worker's queues (read without the lock)
        jid = act.job.job_id
        for target, slot, _ in worker.flow.routes(act.routine.routine_id, event):
            q = queues.get((target, slot))
            if q is not None and q.job_count(jid) >= q.max_length:  # the bound is per job
                self.backpressure_waits.add(
                    1,
                    {
                        "routilux.flow_id": act.job.flow_id,
                        "routilux.routine_id": target,
                        "routilux.slot": slot,
                    },
                )

    def routine_error(
        self, act: ActivationContext, error: BaseException, tb: str, strategy: str
    ) -> None:
        self.errors.add(
            1,
            {
                "routilux.flow_id": act.job.flow_id,
                "routilux.routine_id": act.routine.routine_id,
                "routilux.strategy": strategy,
                "error.type": type(error).__name__,
            },
        )

    def _job_event(self, job: JobContext, name: str, attrs: dict[str, Any]) -> None:
        span = self._jobs.get(job.job_id)
        if span is not None:
            span.add_event(name, {k: v for k, v in attrs.items() if v is not None})

    def parked(self, parked: Parked) -> None:
        self._job_event(
            parked.job,
            "breakpoint_hit",
            {
                "routilux.routine_id": parked.routine_id,
                "routilux.kind": parked.kind,
                "routilux.breakpoint_id": parked.breakpoint_id,
            },
        )

    def unparked(self, parked: Parked, action: str) -> None:
        self._job_event(
            parked.job,
            "breakpoint_release",
            {"routilux.routine_id": parked.routine_id, "routilux.action": action},
        )

    def discarded(self, job: JobContext, count: int, reason: str) -> None:
        self._job_event(
            job, "items_discarded", {"routilux.count": count, "routilux.reason": reason}
        )

    def shutdown(self) -> None:
        with self._lock:
            open_spans, self._jobs, self._ctx = list(self._jobs.values()), {}, {}
        for span in open_spans:
            span.set_attribute("routilux.status", "unfinished")
            span.end()
        if self.owns_providers:
            for provider in (self.tracer_provider, self.meter_provider):
                if provider is not None and hasattr(provider, "shutdown"):
                    provider.shutdown()

    # -- metrics callbacks and frames ----------------------------------------------------
    def _observe_activations(self, options: Any) -> Iterable[Any]:
        with self._lock:
            counts = list(self._act_counts.items())
        return [otel_metrics.Observation(n, self._attrs[key]) for key, n in counts]

    def _observe_jobs(self, options: Any) -> Iterable[Any]:
        with self._lock:
            counts = list(self._job_counts.items())
        return [otel_metrics.Observation(n, self._attrs[key]) for key, n in counts]

    def _queue_depth(self, options: Any) -> Iterable[Any]:
        rt = self.runtime
        if rt is None:
            return []
        out = []
        for worker in list(rt.workers.values()):
            if worker.status == "stopped":
                continue
            for rid, rows in worker.queue_status().items():
                for row in rows:
                    out.append(
                        otel_metrics.Observation(
                            row["unconsumed_count"],
                            {
                                "routilux.flow_id": worker.flow_id,
                                "routilux.worker_id": worker.worker_id,
                                "routilux.routine_id": rid,
                                "routilux.slot": row.get("slot_name", ""),
                            },
                        )
                    )
        return out

    def spans_frame(self) -> Any:
        """The recorded spans as a DataFrame (see :func:`.otel_frames.spans_frame`)."""
        with self._lock:
            jobs = list(self.job_ids.items())
        return spans_frame(jobs, list(self.rows))


def _start_seq(job: Any, rid: str) -> int | None:
    """The seq of the ``routine_start`` record the monitor wrote for the activation of ``rid``
    that just ended (the monitor's ``activation_end`` runs first, see :class:`TeeMonitor`)."""
    trace = getattr(getattr(job, "monitor", None), "trace", None)
    last_start_seq = getattr(trace, "last_start_seq", None)
    if last_start_seq is None:  # a runtime without monitoring: no trace to point into
        return None
    return last_start_seq(rid)  # type: ignore[no-any-return]
