"""What the monitor keeps per job and per worker, and the counter updates the recorder makes.

A job's per-routine counters are written by one activation at a time (the engine never runs
one job's routine twice at once), so they need no lock. A worker's counters are its finished
jobs' counters, added once when each job finishes (under the monitor's fold lock); readers add
the live jobs' counters to them (see :meth:`Queries.worker_routines`).
"""

from __future__ import annotations

import marshal
import threading
from collections import deque
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import now

from .metrics import ErrorRecord, ExecutionMetrics, RoutineMetrics
from .output import JobOutput
from .trace import Ring, TraceBuffer

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext

    from .debug import DebugSession

__all__ = ["Changed", "JobMonitor", "WorkerMonitor", "count_activation", "count_emits"]


class Changed(threading.Condition):
    """A condition notified when a job pauses or finishes; costs nothing while nobody waits."""

    def __init__(self) -> None:
        super().__init__(threading.Lock())
        #: threads inside ``with changed:`` (waiters count themselves before checking)
        self.users = 0
        #: bumped by every change, so a waiter that was not waiting at that moment still sees it
        self.generation = 0

    def __enter__(self) -> bool:
        entered = super().__enter__()
        self.users += 1
        return entered

    def __exit__(self, *exc: Any) -> None:
        self.users -= 1
        super().__exit__(*exc)

    def notify_changed(self) -> None:
        self.generation += 1
        if self.users:
            self.acquire()
            try:
                self.notify_all()
            finally:
                self.release()


_FIELDS = RoutineMetrics.__slots__
_EMITS = _FIELDS.index("emits")
_EVENTS = _FIELDS.index("events")
_RID = _FIELDS.index("routine_id")
_values = attrgetter(*_FIELDS)
#: held while a finished job's packed counters become objects again
_UNPACKING = threading.Lock()


def pack_metrics(m: RoutineMetrics) -> tuple[Any, ...]:
    """A routine's counters as one tuple of atomic values (the collector stops tracking it)."""
    values: tuple[Any, ...] = _values(m)
    emits = values[_EMITS]
    if emits is None:
        return values
    flat = tuple(chain.from_iterable(list(emits.items())))
    return (*values[:_EMITS], flat, *values[_EMITS + 1 :])


def metrics_from(values: tuple[Any, ...]) -> RoutineMetrics:
    """Counters from their values in ``RoutineMetrics.__slots__`` order (``emits`` a dict)."""
    m = RoutineMetrics.__new__(RoutineMetrics)
    for name, value in zip(_FIELDS, values, strict=True):
        setattr(m, name, value)
    return m


def unpack_metrics(values: tuple[Any, ...]) -> RoutineMetrics:
    """Counters from :func:`pack_metrics`."""
    m = metrics_from(values)
    emits = values[_EMITS]
    if emits is not None:
        m.emits = dict(zip(emits[0::2], emits[1::2], strict=True))
    return m


class JobMonitor:
    """What the monitor keeps for one job (``job.monitor``).

    Once the job finished, its per-routine counters are packed into tuples of numbers, and once
    it completed (so nothing of it can run any more) its trace too, all in one marshal blob
    (:meth:`pack`): the garbage collector does not walk every kept job's counters and trace.
    The first read of ``routines`` or ``trace`` makes them objects again (and keeps them).
    """

    __slots__ = (
        "_blob",
        "_errors",
        "_packed",
        "folded",
        "matched",
        "_metrics",
        "_output",
        "debug",
        "job",
        "output_limit",
        "pending",
        "routines",
        "trace",
    )

    def __init__(self, job: JobContext, trace_size: int, output_limit: int) -> None:
        self.job = job
        self.routines: dict[str, RoutineMetrics] = {}
        self._packed: dict[str, tuple[Any, ...]] | None = None
        #: a completed job's packed counters and trace (see :meth:`pack`)
        self._blob: bytes | None = None
        self.trace = TraceBuffer(trace_size, self)
        #: true once the job's counters were added to its worker's
        self.folded = False
        #: routine id -> when its oldest not-yet-taken input was emitted (for queue wait)
        self.pending: dict[str, float] | None = None
        self.output_limit = output_limit
        self._output: JobOutput | None = None
        self._metrics: ExecutionMetrics | None = None
        self._errors: deque[ErrorRecord] | None = None
        self.debug: DebugSession | None = None
        #: id(parked payload) -> (payload, items that made a routine breakpoint's condition true)
        self.matched: dict[int, tuple[Any, list[dict[str, Any]]]] | None = None

    def routine(self, rid: str) -> RoutineMetrics:
        m = self.routines.get(rid)
        if m is None:
            m = self.routines[rid] = RoutineMetrics(rid)
        return m

    def __getattr__(self, name: str) -> Any:
        """``routines`` or ``trace`` of a finished job that were packed: unpacked once, kept."""
        if name != "routines" and name != "trace":
            raise AttributeError(name)
        with _UNPACKING:
            blob = self._blob
            if blob is not None:
                values, state = marshal.loads(blob)
                self.trace = TraceBuffer.restored(self, state)
                self.routines = {v[_RID]: metrics_from(v) for v in values}
                self._blob = None
            if name == "trace":
                return object.__getattribute__(self, "trace")
            packed = self._packed
            if packed is None:  # unpacked meanwhile by another thread (or never packed)
                return object.__getattribute__(self, "routines")
            routines = {rid: unpack_metrics(v) for rid, v in packed.items()}
            self.routines = routines
            self._packed = None
            return routines

    def pack(self, whole: bool = False) -> None:
        """Pack the finished job's counters (called once, under the monitor's fold lock).

        ``whole``: the job completed, so none of its activations still runs and nothing
        writes to its trace any more: the trace goes into one marshal blob with the counters,
        and the job keeps no object the collector walks. Otherwise (or when a payload is not
        marshal-able) the trace's activation entries are packed one by one
        (:meth:`TraceBuffer.pack`), in place, so a late writer loses nothing.
        """
        with _UNPACKING:
            if self._blob is not None or self._packed is not None:
                return
            routines = object.__getattribute__(self, "routines")
            trace = object.__getattribute__(self, "trace")
            if whole:
                try:
                    values = [_values(m) for m in list(routines.values())]
                    self._blob = marshal.dumps((values, trace.state()))
                except ValueError:  # something marshal cannot write: packed entry by entry
                    pass
                else:
                    self.pending = None
                    del self.routines, self.trace
                    return
            self._packed = {rid: pack_metrics(m) for rid, m in list(routines.items())}
            del self.routines
        trace.pack()

    def adopt(self, rid: str, m: RoutineMetrics) -> None:
        """Make ``m`` the job's counters of ``rid`` again: an activation that took ``m`` before
        the job finished updated it after they were packed (called under the fold lock)."""
        with _UNPACKING:
            packed = self._packed
            if packed is not None:
                packed[rid] = pack_metrics(m)
                return
        routines = self.routines  # unpacks a blob first
        if routines.get(rid) is not m:
            routines[rid] = m

    def routine_events(self) -> int:
        """Trace events recorded for the job's routines (without unpacking them)."""
        blob = self._blob
        if blob is not None:
            return sum(v[_EVENTS] for v in marshal.loads(blob)[0])
        packed = self._packed
        if packed is not None:
            return sum(v[_EVENTS] for v in list(packed.values()))
        return sum(m.events for m in list(self.routines.values()))

    @property
    def metrics(self) -> ExecutionMetrics:
        m = self._metrics
        if m is None:
            m = self._metrics = ExecutionMetrics(self.job, self)
        return m

    @property
    def errors(self) -> deque[ErrorRecord]:
        """The job's last 100 routine errors (each with its traceback)."""
        e = self._errors
        if e is None:
            e = self._errors = deque(maxlen=100)
        return e

    @property
    def output(self) -> JobOutput:
        out = self._output
        if out is None:
            out = self._output = JobOutput(self.output_limit)
        return out


class WorkerMonitor:
    """What the monitor keeps for one worker: its emit history, and in ``routines`` the counters
    of its finished jobs (readers add the live jobs': :meth:`Queries.worker_routines`)."""

    __slots__ = ("history", "last_error", "recent_jobs", "routines", "status_changed_at")

    def __init__(self, history_size: int) -> None:
        self.history = Ring(history_size, emits_only=True)
        self.routines: dict[str, RoutineMetrics] = {}
        self.last_error: dict[str, str] = {}
        self.recent_jobs: deque[JobContext] = deque(maxlen=50)
        self.status_changed_at = now()

    def routine(self, rid: str) -> RoutineMetrics:
        m = self.routines.get(rid)
        if m is None:  # setdefault: two threads never make two counters of one routine
            m = self.routines.setdefault(rid, RoutineMetrics(rid))
        return m


def count_activation(
    m: RoutineMetrics,
    duration: float,
    ts: float,
    failed: bool,
    cpu: float,
    wait: float | None,
    n_in: int,
    n_out: int,
    blocked: float = 0.0,
) -> None:
    m.execution_count += 1
    m.total_duration += duration
    if m.min_duration is None or duration < m.min_duration:
        m.min_duration = duration
    if m.max_duration is None or duration > m.max_duration:
        m.max_duration = duration
    if failed:
        m.error_count += 1
    m.last_execution = ts
    m.total_cpu_time += cpu
    if wait is not None:
        m.total_queue_wait += wait
    m.total_blocked_time += blocked
    m.items_in += n_in
    m.items_out += n_out


def count_emits(m: RoutineMetrics, emits: list[tuple[float, str, Any]]) -> None:
    counts = m.emits
    if counts is None:
        counts = m.emits = {}
    if len(emits) == 1:
        event = emits[0][1]
        counts[event] = counts.get(event, 0) + 1
        return
    for _, event, _ in emits:
        counts[event] = counts.get(event, 0) + 1
