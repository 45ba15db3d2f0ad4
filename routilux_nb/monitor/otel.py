"""OpenTelemetry export: spans for jobs and activations, metrics for the engine.

Needs the ``otel`` extra (``pip install "routilux_nb[otel]"``); nothing imports this module
unless export is configured, so a runtime without it pays nothing.

>>> rt = Runtime(otel=True)                          # doctest: +SKIP  (global providers)
>>> rt = Runtime(otel="http://127.0.0.1:4318")       # doctest: +SKIP  (OTLP/HTTP)
>>> instrument(rt, tracer_provider=tp, meter_provider=mp)   # doctest: +SKIP

Spans: one ``routilux.job <flow_id>`` span per job (a root, or the child of the span active
where the job was submitted, or of the ``traceparent`` of ``POST /jobs``) and one
``routilux.activation <routine_id>`` child per activation, with the attributes
``routilux.job_id``, ``routilux.flow_id``, ``routilux.routine_id`` (the job span has
``routilux.worker_id`` instead), ``routilux.activation_id``, ``routilux.seq`` (the ``seq`` of the activation's
``routine_start`` record in the job's trace), ``routilux.attempt``, ``routilux.items``,
``routilux.status`` and, on failure, the error. While a routine's logic runs locally its
span is the current span, so spans the logic makes are its children.

Metrics: ``routilux.activations`` (counter), ``routilux.activation.duration`` (histogram, s),
``routilux.jobs`` (counter by final status), ``routilux.job.duration`` (histogram, s),
``routilux.routine.errors`` (counter by strategy), ``routilux.backpressure.waits`` (emits
that found a target slot full and had to wait), ``routilux.queue.depth`` (gauge of items
not yet consumed, per slot).

The ids join pandas analysis with the tracing backend: ``job.trace_id``,
:func:`spans_frame` and :func:`with_trace_ids` (see :mod:`.otel_frames`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from routilux_nb import __version__

from .otel_frames import spans_frame, with_trace_ids
from .otel_recorder import OTelRecorder

__all__ = [
    "OTelRecorder",
    "TeeMonitor",
    "instrument",
    "otlp_providers",
    "recorder_of",
    "spans_frame",
    "with_trace_ids",
]


_log = logging.getLogger(__name__)
_reported: set[str] = set()


def _failed(hook: str) -> None:
    """A failure in export never breaks a job: logged once per hook."""
    if hook not in _reported:
        _reported.add(hook)
        _log.exception("OpenTelemetry export failed in the %s hook; the job goes on", hook)


class TeeMonitor:
    """Forwards every hook to the runtime's monitor, then to the OpenTelemetry recorder;
    everything else (traces, metrics, breakpoints, ...) is the monitor's."""

    def __init__(self, inner: Any, recorder: OTelRecorder) -> None:
        self.inner = inner
        self.otel = recorder

    @property
    def armed(self) -> bool:
        return bool(self.inner.armed)

    @property
    def enabled(self) -> bool:
        return bool(self.inner.enabled)

    def attach(self, runtime: Any) -> None:
        self.inner.attach(runtime)
        try:
            self.otel.attach(runtime)
        except Exception:
            _failed("attach")

    def job_created(self, job: Any) -> None:
        self.inner.job_created(job)
        try:
            self.otel.job_created(job)
        except Exception:
            _failed("job_created")

    def job_status(self, job: Any, old: str) -> None:
        self.inner.job_status(job, old)
        try:
            self.otel.job_status(job, old)
        except Exception:
            _failed("job_status")

    def activation_start(self, act: Any) -> None:
        self.inner.activation_start(act)
        try:
            self.otel.activation_start(act)
        except Exception:
            _failed("activation_start")

    def activation_end(self, act: Any, duration: float, error: BaseException | None) -> None:
        # the monitor first: it writes the activation's trace records, whose seq the span takes
        try:
            self.inner.activation_end(act, duration, error)
        finally:
            try:
                self.otel.activation_end(act, duration, error)
            except Exception:
                _failed("activation_end")

    def emit(self, act: Any, event: str, payload: dict[str, Any]) -> None:
        self.inner.emit(act, event, payload)
        try:
            self.otel.emit(act, event, payload)
        except Exception:
            _failed("emit")

    def routine_error(self, act: Any, error: BaseException, tb: str, strategy: str) -> None:
        self.inner.routine_error(act, error, tb, strategy)
        try:
            self.otel.routine_error(act, error, tb, strategy)
        except Exception:
            _failed("routine_error")

    def parked(self, parked: Any) -> None:
        self.inner.parked(parked)
        try:
            self.otel.parked(parked)
        except Exception:
            _failed("parked")

    def unparked(self, parked: Any, action: str) -> None:
        self.inner.unparked(parked, action)
        try:
            self.otel.unparked(parked, action)
        except Exception:
            _failed("unparked")

    def discarded(self, job: Any, count: int, reason: str) -> None:
        self.inner.discarded(job, count, reason)
        try:
            self.otel.discarded(job, count, reason)
        except Exception:
            _failed("discarded")

    def worker_status(self, worker: Any, old: str) -> None:
        self.inner.worker_status(worker, old)

    def check(self, *args: Any, **kwargs: Any) -> str | None:
        breakpoint_id: str | None = self.inner.check(*args, **kwargs)
        return breakpoint_id

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        finally:
            self.otel.shutdown()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("inner", "otel"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def __repr__(self) -> str:
        return f"TeeMonitor({self.inner!r} + OpenTelemetry)"


def otlp_providers(
    endpoint: str, *, service_name: str | None = None, export_interval: float = 10.0
) -> tuple[Any, Any]:
    """A tracer and a meter provider exporting OTLP/HTTP to ``endpoint`` (the collector's base
    URL, e.g. ``http://127.0.0.1:4318``; ``/v1/traces`` and ``/v1/metrics`` are appended)."""
    import os

    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
        raise ValueError(
            f"the OTLP/HTTP endpoint must be an http(s) URL such as http://127.0.0.1:4318, "
            f"got {endpoint!r}"
        )
    base = endpoint.rstrip("/")
    for suffix in ("/v1/traces", "/v1/metrics"):
        base = base.removesuffix(suffix)
    name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "routilux_nb"
    resource = Resource.create({"service.name": name, "service.version": __version__})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{base}/v1/traces"))
    )
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics"),
        export_interval_millis=export_interval * 1000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return tracer_provider, meter_provider


def instrument(
    runtime: Any,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    *,
    endpoint: str | None = None,
    **options: Any,
) -> OTelRecorder:
    """Export ``runtime``'s jobs and activations to OpenTelemetry; returns the recorder.

    Without providers the global ones are used (``opentelemetry.trace.set_tracer_provider``);
    ``endpoint`` makes OTLP/HTTP providers owned (and shut down) by the runtime. Instrumenting
    twice returns the existing recorder.
    """
    existing = recorder_of(runtime)
    if existing is not None:
        return existing
    owns = False
    if endpoint is not None:
        tracer_provider, meter_provider = otlp_providers(endpoint)
        owns = True
    recorder = OTelRecorder(tracer_provider, meter_provider, owns_providers=owns, **options)
    old = runtime.monitor
    tee = TeeMonitor(old, recorder)
    recorder.attach(runtime)
    runtime.monitor = tee
    for worker in list(runtime.workers.values()):  # workers started before this keep up
        _retarget(worker, old, tee)
    return recorder


def _retarget(worker: Any, old: Any, tee: TeeMonitor) -> None:
    """Make a running worker call ``tee`` where it called ``old``: the worker and each part of
    its engine (scheduling, delivery, execution, parking, submission) hold the monitor."""
    if getattr(worker, "_mon", None) is old:
        worker._mon = tee
    for part in list(vars(worker).values()):
        if getattr(part, "monitor", None) is old and not isinstance(part, type):
            part.monitor = tee


def install(runtime: Any, otel: Any) -> None:
    """``Runtime(otel=...)``: ``True`` (global providers), an OTLP/HTTP URL, a tracer
    provider, or a mapping of :func:`instrument`'s keyword arguments."""
    if otel is True:
        instrument(runtime)
    elif isinstance(otel, str):
        instrument(runtime, endpoint=otel)
    elif isinstance(otel, Mapping):
        instrument(runtime, **otel)
    elif hasattr(otel, "get_tracer"):
        instrument(runtime, tracer_provider=otel)
    else:
        raise TypeError(
            f"otel= takes True, an OTLP/HTTP URL, a TracerProvider or a mapping of "
            f"instrument() arguments, got {type(otel).__name__}"
        )


def recorder_of(runtime: Any) -> OTelRecorder | None:
    """The runtime's :class:`OTelRecorder`, or ``None`` when export is not configured."""
    mon = runtime.__dict__.get("monitor") if hasattr(runtime, "__dict__") else None
    return mon.otel if isinstance(mon, TeeMonitor) else None
