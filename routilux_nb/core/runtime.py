"""The runtime: one thread pool, a timer, the flows, workers and jobs of a kernel.

>>> rt = Runtime()
>>> flow = Flow("demo")
>>> @flow.routine(slots=["input"], events=[])
... def keep(input, ctx):
...     ctx.data["seen"] = [i["x"] for i in input]
>>> rt.submit(flow, data={"x": 1}).wait().data
{'seen': [1]}
>>> rt.shutdown()

``routilux_nb.runtime()`` returns the kernel's default runtime (:mod:`.default`). Routine logic runs on an executor following ``concurrent.futures.Executor`` (by default a
bounded thread pool owned by the runtime; pass ``executor=`` to bring your own thread pool).
Finished jobs are kept up to ``max_finished_jobs`` (oldest evicted first, to the store if
one is configured), so memory stays bounded however many jobs run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from . import extensions
from ._flows import FlowCatalog
from ._jobtable import JobTable
from ._pool import ThreadPool
from ._runtime_flows import RuntimeFlows
from ._runtime_jobs import RuntimeJobs
from ._runtime_steps import RuntimeSteps
from .admission import DEFAULT_MAX_ACTIVE_JOBS
from .display import HtmlRepr
from .errors import RoutiluxError, StateError
from .extensions import (
    SERVER_EXTRA_HINT,
    JobStore,
    ServerHandle,
    make_artifact_store,
    open_store,
    server_factory,
)
from .flow import Flow
from .hooks import MonitorHooks, NullMonitor
from .ids import check_id
from .job import FINISHED, JobContext
from .mapping import MapRun
from .offload import is_remote_executor
from .scheduler import Scheduler
from .steps import StepLimits, step_limits
from .worker import Worker

__all__ = ["Runtime"]

log = logging.getLogger(__name__)


class Runtime(RuntimeFlows, RuntimeJobs, RuntimeSteps, HtmlRepr):
    """Owns the thread pool, the timer thread, flows, workers, jobs and the monitor.

    A job whose timeout passes fails at once; if a routine of it still runs, that thread
    cannot be stopped, so the runtime's own pool starts a replacement thread (at most
    ``max_threads`` such at a time, with a logged warning) and the other workers keep their
    share of the pool. A pool passed as ``executor=`` is not grown.

    ``record_steps`` keeps, per activation, what is needed to fork a job from there
    (:mod:`routilux_nb.core.steps`): ``False`` (the default here; ``rx.runtime()`` turns it
    on), ``True`` (at most 1000 steps and 16 MiB per job), an int (max steps per job) or
    ``StepLimits(max_steps=..., max_bytes=...)``.
    """

    def __init__(
        self,
        *,
        max_threads: int = 8,
        executor: Executor | None = None,
        monitor: MonitorHooks | bool | None = True,
        max_finished_jobs: int = 10_000,
        log_size: int = 1000,
        store: JobStore | None = None,
        otel: Any = None,
        record_steps: bool | int | StepLimits | Mapping[str, int] = False,
    ) -> None:
        if max_threads < 1:
            raise ValueError(f"max_threads must be >= 1, got {max_threads}")
        if not isinstance(monitor, (bool, type(None), MonitorHooks)):
            raise TypeError(
                "Runtime(monitor=...) takes True (the default monitor), False (none) or a "
                "monitor such as routilux_nb.monitor.Monitor(trace_size=...), "
                f"got {type(monitor).__name__}"
            )
        self.max_threads = max_threads
        self.max_finished_jobs = max_finished_jobs
        self.log_size = log_size
        #: how much of each job's steps is recorded (``None``: none; see core.steps)
        self.step_limits: StepLimits | None = step_limits(record_steps)
        self.store = store = open_store(store)
        self._table = JobTable(store, max_finished_jobs, self._spawn)
        self._jobs = self._table.jobs
        #: the store's write-through writer (see :mod:`routilux_nb.store.writer`), or None
        self.store_writer = self._table.writer
        #: ids of the jobs a previous process left unfinished, marked failed ("interrupted")
        self.interrupted_jobs = self._table.interrupted
        #: an executor outside this process runs only routine logic (see core.offload);
        #: scheduling then uses the runtime's own thread pool
        self._offload: Executor | None = executor if is_remote_executor(executor) else None
        self._own_executor = executor is None or self._offload is not None
        self._executor: Executor | None = None if self._offload is not None else executor
        self.scheduler = Scheduler()
        self._catalog = FlowCatalog(store)
        self.workers: dict[str, Worker] = {}
        self._lock = threading.RLock()
        self._closed = False
        if monitor is True:
            factory = extensions.monitor_factory
            monitor = factory() if factory is not None else NullMonitor()
        elif monitor is False or monitor is None:
            monitor = NullMonitor()
        if self.store_writer is not None:
            monitor.add_job_observer(self.store_writer)  # every job transition reaches the store
        #: the monitor (``routilux_nb.monitor.Monitor`` unless another was passed)
        self.monitor: Any = monitor
        self._artifacts: Any = None
        if store is not None:
            self._catalog.restore()
        monitor.attach(self)
        if otel is not None and otel is not False:  # OpenTelemetry export (monitor.otel)
            if extensions.otel_installer is None:
                raise ImportError("otel= needs routilux_nb.monitor: import routilux_nb first")
            extensions.otel_installer(self, otel)
        self._server: ServerHandle | None = None

    @property
    def artifacts(self) -> Any:
        """Where ``ctx.artifact(name, obj)`` keeps job results: an
        :class:`~routilux_nb.store.artifacts.ArtifactStore` beside the job store's file (or a
        temporary folder, removed at shutdown, when there is no store file)."""
        if self._artifacts is None:
            with self._lock:
                if self._artifacts is None:
                    self._artifacts = make_artifact_store(self)
        return self._artifacts

    @property
    def artifacts_if_open(self) -> Any:
        """The artifact store if an artifact was stored or read here, else None (never makes one)."""
        return self._artifacts

    # -- executor ------------------------------------------------------------------------
    def _spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        ex = self._executor
        if ex is None:
            with self._lock:
                if self._closed:
                    raise StateError("the runtime is shut down")
                if self._executor is None:
                    self._executor = ThreadPool(self.max_threads, "routilux")
                ex = self._executor
        if type(ex) is ThreadPool:
            ex.spawn(fn, *args)
        else:
            ex.submit(fn, *args)

    def _lend_threads(self, count: int) -> int:
        """Let the runtime's pool start ``count`` threads beyond its size, for now (see class doc)."""
        pool = self._executor
        return pool.lend(count) if isinstance(pool, ThreadPool) else 0

    def _repay_threads(self, count: int) -> None:
        pool = self._executor
        if isinstance(pool, ThreadPool):
            pool.repay(count)

    # -- workers -------------------------------------------------------------------------
    def start(
        self,
        flow: Flow | str,
        worker_id: str | None = None,
        *,
        max_concurrency: int | None = None,
        max_active_jobs: int | None = DEFAULT_MAX_ACTIVE_JOBS,
    ) -> Worker:
        """Start a worker running ``flow``; errors in the flow's wiring are raised here.

        ``max_concurrency`` (default: the runtime's ``max_threads``) bounds the activations
        the worker runs at once; ``max_active_jobs`` (default
        :data:`~routilux_nb.core.admission.DEFAULT_MAX_ACTIVE_JOBS`, 256; ``None``: no limit)
        the jobs it runs at once: jobs submitted past it wait ``pending`` and start in
        order as others finish (see :mod:`routilux_nb.core.admission`).

        Safe to run again (a re-run notebook cell): when worker ``worker_id`` already runs
        a flow with the same ``flow_id``, that worker is returned; a stopped one is replaced.
        """
        if self._closed:
            raise StateError("the runtime is shut down; create a new Runtime")
        if worker_id is not None:
            check_id(worker_id, "worker id")
            existing = self.workers.get(worker_id)
            if existing is not None and existing.status != "stopped":
                flow_id = flow.flow_id if isinstance(flow, Flow) else flow
                if existing.flow_id == flow_id:
                    return existing
                raise StateError(
                    f"worker {worker_id!r} already runs flow {existing.flow_id!r}, not {flow_id!r}: "
                    f"choose another worker_id, or stop it first with rt.get_worker({worker_id!r}).stop()"
                )
        flow = self._flow(flow)
        report = flow.validate()
        if not report.valid:
            raise RoutiluxError(f"flow {flow.flow_id!r} is not valid: " + "; ".join(report.errors))
        with self._lock:
            existing = self.workers.get(worker_id) if worker_id is not None else None
            if existing is not None and existing.status != "stopped":
                raise StateError(
                    f"a worker {worker_id!r} was started meanwhile; use rt.get_worker({worker_id!r})"
                )
            worker = Worker(self, flow, worker_id, max_concurrency, max_active_jobs)
            self.workers[worker.worker_id] = worker
        self.monitor.worker_status(worker, "created")
        return worker

    def get_worker(self, worker_id: str) -> Worker:
        try:
            return self.workers[worker_id]
        except KeyError:
            raise KeyError(
                f"no worker {worker_id!r}; known workers: {sorted(self.workers) or 'none'}"
            ) from None

    def worker_for(self, flow: Flow | str) -> Worker:
        """A running worker of ``flow`` (the first one), started if there is none."""
        flow = self._flow(flow)
        with self._lock:
            for w in self.workers.values():
                if w.flow is flow and w.status != "stopped":
                    return w
        return self.start(flow)

    # -- jobs ----------------------------------------------------------------------------
    def submit(
        self,
        flow: Flow | str,
        routine_id: str | Mapping[str, Any] | None = None,
        slot_name: str | None = None,
        data: Mapping[str, Any] | None = None,
        *,
        worker_id: str | None = None,
        job_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | None = None,
        job_data: Mapping[str, Any] | None = None,
        version: int | None = None,
    ) -> JobContext:
        """Submit a job (``POST /jobs``): on ``worker_id``, or on the flow's running worker.

        The data may follow the flow directly: ``rt.submit(flow, {"name": "x"})``.
        ``version=N`` runs version ``N`` of the flow (see :attr:`flow_versions`) on a worker of
        its own; ``job.flow_version`` says which version ran.
        """
        if version is not None:
            flow = self.flow_version(flow if isinstance(flow, str) else flow.flow_id, version)
        if worker_id is not None:
            worker = self.get_worker(worker_id)
            if (
                isinstance(flow, Flow)
                and worker.flow is not flow
                or isinstance(flow, str)
                and worker.flow_id != flow
            ):
                raise StateError(
                    f"worker {worker_id!r} runs flow {worker.flow_id!r}, not the one given"
                )
        else:
            worker = self.worker_for(flow)
        return worker.submit(
            routine_id,
            slot_name,
            data,
            job_id=job_id,
            metadata=metadata,
            timeout=timeout,
            job_data=job_data,
        )

    def map(
        self, flow: Flow | str, params: Any, *, worker_id: str | None = None, **options: Any
    ) -> MapRun:
        """``worker.map(params, **options)`` on ``worker_id`` or the flow's running worker (see :class:`MapRun`)."""
        worker = self.get_worker(worker_id) if worker_id is not None else self.worker_for(flow)
        return worker.map(params, **options)

    # -- server --------------------------------------------------------------------------
    def serve(
        self, port: int = 0, host: str = "127.0.0.1", api_key: str | None = None, **kwargs: Any
    ) -> ServerHandle:
        """Serve the HTTP API of this runtime from a background thread (needs the ``server`` extra).

        Running it again returns the server that runs; ``handle.stop()`` stops it.
        """
        current = self._server
        if current is not None and current.running:
            return current
        factory = server_factory()
        if factory is None:
            raise ImportError(SERVER_EXTRA_HINT)
        handle = factory(self, port=port, host=host, api_key=api_key, **kwargs)
        self._server = handle
        return handle

    @property
    def server(self) -> ServerHandle | None:
        """The HTTP server of this runtime (see :meth:`serve`), set by the server layer; or None."""
        return self._server

    @server.setter
    def server(self, handle: ServerHandle | None) -> None:
        self._server = handle

    # -- lifecycle -----------------------------------------------------------------------
    def shutdown(self, *, wait: bool = True, timeout: float = 10.0) -> None:
        """Stop every worker, the timer thread and the pool. Idempotent."""
        if self._closed:
            return
        if self._server is not None:
            try:
                self._server.stop()
            except Exception:
                pass
        for w in list(self.workers.values()):
            w.stop()
        with self._lock:
            self._closed = True
        if self._artifacts is not None:
            self._artifacts.close()
        self._table.close()
        self.scheduler.shutdown(timeout)
        self.monitor.shutdown()
        if self._executor is not None and self._own_executor:
            self._executor.shutdown(wait=wait, cancel_futures=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def metrics_frame(
        self, *, per: str = "job", flow_id: str | None = None, worker_id: str | None = None
    ) -> Any:
        """Metrics of every job (``per="job"``) or every routine (``per="routine"``) as one DataFrame."""
        return self.monitor.metrics_frame(per=per, flow_id=flow_id, worker_id=worker_id)

    def trace_frame(self, *, flow_id: str | None = None, worker_id: str | None = None) -> Any:
        """The recorded events of every job kept, as one DataFrame (``frame.attrs["truncated"]``)."""
        return self.monitor.trace_frame(flow_id=flow_id, worker_id=worker_id)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        running = sum(1 for w in self.workers.values() if w.status != "stopped")
        active = sum(1 for j in list(self._jobs.values()) if j.status not in FINISHED)
        return (
            f"Runtime(flows={len(self.flows)}, workers={running}, active_jobs={active}, "
            f"jobs_kept={len(self._jobs)})"
        )
