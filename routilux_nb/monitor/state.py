"""What the monitor keeps per job and per worker.

A job's per-routine counters are not kept while it runs: they are counted from its trace
entries when read (see :mod:`.counting`). A worker's counters are its finished jobs'
counters, added once when each job finishes; readers add the live jobs' (see
:meth:`Queries.worker_routines`). Every write to a job's trace, and every read that counts
it, holds the monitor's counting lock (``JobMonitor.lock``), so an entry is counted exactly
once: by the fold when the job finishes, or, written after that, by its writer.
"""

from __future__ import annotations

import marshal
import threading
from collections import deque
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from routilux_nb.core.clock import now

from .counting import count_dropped_emits, count_entries, count_entry
from .metrics import ErrorRecord, ExecutionMetrics, RoutineMetrics
from .output import JobOutput
from .trace import ACTIVATION, Ring, TraceBuffer

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext

    from .debug import DebugSession

__all__ = ["Changed", "JobMonitor", "WorkerMonitor"]


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
_values = attrgetter(*_FIELDS)
#: held while a completed job's blob becomes objects again
_UNPACKING = threading.Lock()


def metrics_from(values: tuple[Any, ...]) -> RoutineMetrics:
    """Counters from their values in ``RoutineMetrics.__slots__`` order (as packed)."""
    m = RoutineMetrics.__new__(RoutineMetrics)
    for name, value in zip(_FIELDS, values, strict=True):
        setattr(m, name, value)
    return m


class JobMonitor:
    """What the monitor keeps for one job (``job.monitor``): its trace, what its routines are
    doing now, and the counters of trace entries its ring dropped.

    ``routines`` (the per-routine counters) is counted from the trace when read. Once the job
    completed (so nothing of it can run any more) its trace goes into one marshal blob
    (:meth:`pack`): a kept finished job costs the garbage collector one object. The first read
    of ``trace`` makes it objects again (and keeps them); counting reads the blob as it is.
    """

    __slots__ = (
        "_blob",
        "_counted",
        "_errors",
        "_metrics",
        "_output",
        "blocked",
        "debug",
        "dropped",
        "folded",
        "job",
        "last",
        "lock",
        "matched",
        "output_limit",
        "pending",
        "running",
        "trace",
    )

    def __init__(
        self, job: JobContext, trace_size: int, output_limit: int, lock: threading.Lock
    ) -> None:
        self.job = job
        #: the monitor's counting lock: held by every write to the trace and by counting reads
        self.lock = lock
        self.trace = TraceBuffer(trace_size, self)
        #: routine id -> when its running activation started
        self.running: dict[str, float] = {}
        #: routine id -> (start, end) of its newest finished activation
        self.last: dict[str, tuple[float, float]] = {}
        #: routine id -> when its oldest not-yet-taken input was emitted (for queue wait)
        self.pending: dict[str, float] | None = None
        #: routine id -> counters of its trace entries the ring dropped
        self.dropped: dict[str, RoutineMetrics] | None = None
        #: routine id -> seconds its activations waited for room in full slots
        self.blocked: dict[str, float] | None = None
        #: true once the job's counters were added to its worker's
        self.folded = False
        #: a completed job's trace (see :meth:`pack`)
        self._blob: bytes | None = None
        #: (entries counted, their counters): what ``routines`` counted already
        self._counted: tuple[int, dict[str, RoutineMetrics]] | None = None
        self.output_limit = output_limit
        self._output: JobOutput | None = None
        self._metrics: ExecutionMetrics | None = None
        self._errors: deque[ErrorRecord] | None = None
        self.debug: DebugSession | None = None
        #: id(parked payload) -> (payload, items that made a routine breakpoint's condition true)
        self.matched: dict[int, tuple[Any, list[dict[str, Any]]]] | None = None

    # -- counters --------------------------------------------------------------------------
    @property
    def routines(self) -> dict[str, RoutineMetrics]:
        """Per routine id: the job's counters, counted now from its trace (fresh objects).

        A live job's counts of the entries already read are kept (``_counted``), so a read
        counts only the entries added since (views read live jobs ten times a second).
        """
        with self.lock:  # no entry is being written or dropped meanwhile
            blob = self._blob
            if blob is None:
                counted = self._counted
                n, new = object.__getattribute__(self, "trace").since(counted[0] if counted else 0)
                if new is None or counted is None:  # count from the start
                    base, dropped = None, self.dropped
                    dropped = {r: m.copy() for r, m in dropped.items()} if dropped else None
                    if new is None:
                        new = object.__getattribute__(self, "trace").held()
                else:
                    base, dropped = counted[1], None
                blocked = dict(self.blocked) if self.blocked else None
            running = dict(self.running)
            last = dict(self.last)
        if blob is not None:  # a completed job: counted from its blob as it is
            (_, entries, _, _, _), packed, blocked = marshal.loads(blob)
            out: dict[str, RoutineMetrics] = {}
            dropped = {r: metrics_from(v) for r, v in packed.items()} if packed else None
            count_entries(out, entries, dropped, blocked)
        else:
            fresh = {r: m.copy() for r, m in base.items()} if base is not None else {}
            count_entries(fresh, new, dropped)
            self._counted = (n, fresh)  # never changed once kept: later reads copy it
            out = {r: m.copy() for r, m in fresh.items()}
            if blocked:
                count_entries(out, (), None, blocked)
        for rid, t0 in running.items():
            m = out.get(rid)
            if m is None:
                m = out[rid] = RoutineMetrics(rid)
            m.running = True
            m.last_start = t0
        for rid, (t0, _) in last.items():
            m = out.get(rid)
            if m is not None and not m.running:
                m.last_start = t0
        return out

    @property
    def total_events(self) -> int:
        """Every event recorded for the job, kept or not (``trace.total``, read from the
        blob of a completed job as it is)."""
        blob = self._blob
        if blob is None:
            total: int = self.trace.total
            return total
        (_, entries, _, dropped_events, _), _, _ = marshal.loads(blob)
        held: int = sum(e[13] if e[2] == ACTIVATION else 1 for e in entries)
        return int(dropped_events) + held

    def routine(self, rid: str) -> RoutineMetrics:
        """The job's counters of one routine (zeros if it never ran)."""
        return self.routines.get(rid) or RoutineMetrics(rid)

    def drop(self, entries: list[tuple[Any, ...]]) -> None:
        """Count entries the trace ring drops (lock held: called from a write)."""
        dropped = self.dropped
        if dropped is None:
            dropped = self.dropped = {}
        for e in entries:
            count_entry(dropped, e)

    def drop_emits(self, rid: str, events: list[str]) -> None:
        """Count emits an activation noted but no ring will keep (lock held)."""
        dropped = self.dropped
        if dropped is None:
            dropped = self.dropped = {}
        m = dropped.get(rid)
        if m is None:
            m = dropped[rid] = RoutineMetrics(rid)
        count_dropped_emits(m, events)
        object.__getattribute__(self, "trace").dropped_events += len(events)
        self._counted = None  # these counts are in no entry: the next read counts afresh

    def fold_into(self, totals: dict[str, RoutineMetrics]) -> None:
        """Add the job's counters to ``totals`` (its worker's) once (lock held)."""
        self.folded = True
        trace = object.__getattribute__(self, "trace")
        count_entries(totals, trace.held(), self.dropped, self.blocked)

    # -- packing ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        """``trace`` of a completed job that was packed: unpacked once, kept."""
        if name != "trace":
            raise AttributeError(name)
        with _UNPACKING:
            blob = self._blob
            if blob is not None:
                state, packed, blocked = marshal.loads(blob)
                trace = TraceBuffer.restored(self, state)
                if packed:
                    self.dropped = {r: metrics_from(v) for r, v in packed.items()}
                self.blocked = blocked
                self.trace = trace
                self._blob = None
            return object.__getattribute__(self, "trace")

    def pack(self, whole: bool = False) -> None:
        """Make the finished job cheap to keep (called once, with the counting lock held).

        ``whole``: the job completed, so none of its activations still runs and nothing
        writes to its trace any more: the trace goes into one marshal blob. Otherwise (or
        when a payload is not marshal-able) the trace's activation entries are packed one by
        one (:meth:`TraceBuffer.pack`), in place, so a late writer loses nothing.
        """
        trace = object.__getattribute__(self, "trace")
        self.pending = self._counted = None
        if whole:
            dropped = self.dropped
            packed = {r: _values(m) for r, m in dropped.items()} if dropped else None
            with _UNPACKING:
                try:
                    self._blob = marshal.dumps((trace.state(), packed, self.blocked))
                except ValueError:  # something marshal cannot write: packed entry by entry
                    pass
                else:
                    self.dropped = self.blocked = None
                    self.last = {}  # nothing runs any more (an empty dict is not tracked)
                    del self.trace
                    return
        trace.pack()

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
