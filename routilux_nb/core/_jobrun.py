"""The engine's per-job state, and the names of the states it moves through.

A :class:`~routilux_nb.core.job.JobContext` is what a user holds; the engine's bookkeeping
for that job lives in one :class:`JobRun` that the job refers to and only the engine writes
(always with the worker's lock held). Keeping it apart keeps the user-facing object small
and makes every write to engine state visible in the engine's own modules.

A *key* is one routine of one job. Its :class:`KeyState` says whether it waits for items
(``IDLE``: not in ``JobRun.keys``), is queued for a drainer (``READY``) or runs
(``RUNNING``); a key is never ready or running twice, which is what keeps one job's items in
order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Literal, Optional

if TYPE_CHECKING:
    from .context import ActivationContext
    from .job import Parked
    from .scheduler import TimerHandle
    from .steps import StepLog

__all__ = [
    "FINISHED",
    "call_done_callbacks",
    "Done",
    "done_event",
    "JOB_STATUSES",
    "Hop",
    "JobRun",
    "JobStatus",
    "KeyState",
    "ALREADY_DONE",
    "StepMode",
    "WorkerStatus",
]

#: the status of a job, as the spec names it
JobStatus = Literal["pending", "running", "paused", "completed", "failed", "cancelled"]
JOB_STATUSES: tuple[JobStatus, ...] = (
    "pending",
    "running",
    "paused",
    "completed",
    "failed",
    "cancelled",
)
#: the status of a worker; drainers run only while it is "running"
WorkerStatus = Literal["running", "paused", "stopped"]
#: statuses a job never leaves
FINISHED: frozenset[str] = frozenset({"completed", "failed", "cancelled"})

#: one link of the call stack that produced an item: (parent hop, activation id, routine id, event)
Hop = tuple[Optional["Hop"], int, str, str]  # recursive: "Hop" | None cannot run on 3.10
#: a pending step of the debugger: ("over", None) or ("into", activation id of the source)
StepMode = tuple[str, int | None]


class KeyState(IntEnum):
    """Where one routine of one job stands."""

    IDLE = 0
    READY = 1
    RUNNING = 2


_NONE: frozenset[str] = frozenset()


@dataclass(slots=True, eq=False, init=False)
class JobRun:
    """The engine's state of one job. Guarded by the worker's lock; written only by the engine.

    Collections that most jobs never use are immutable empties (replaced, not mutated, when
    something is added), or ``None`` until first used: a job that is kept after it finished
    then holds no container of its own that the garbage collector has to walk. Made with no
    arguments, every field at its default, by a plain ``__init__`` (one per job: the
    generated one, with its factories, costs twice as much).
    """

    #: units of activity: ready or running keys, pending timers, parked items, deliveries
    #: under way. The job is idle when this falls to zero.
    active: int = 0
    #: items of the job waiting in slot queues (the job may complete only when none)
    queued: int = 0
    #: the routines of the job that are ready or running; any other routine is idle (so a
    #: finished job's dict is empty, and the garbage collector stops walking it)
    keys: dict[str, KeyState] = field(default_factory=dict)
    #: when items started waiting for a routine (monotonic), for time-based policies; this
    #: and the next two are made by the first routine of the job whose policy is not immediate
    since: dict[str, float] | None = None
    #: when each routine last ran (monotonic)
    last: dict[str, float] | None = None
    #: a policy's timer per routine
    wake: dict[str, TimerHandle] | None = None
    #: routines whose leftovers are being flushed because the job was idle
    flush: frozenset[str] = _NONE
    #: routines that became ready while the job was paused; poked again on resume
    deferred: frozenset[str] = _NONE
    #: paused by the user (``job.pause()``), not only by a breakpoint
    user_paused: bool = False
    #: a debugger step waiting for the next activation
    step: StepMode | None = None
    #: timers of scheduled retries (cancelled when the job ends)
    retry_timers: tuple[TimerHandle, ...] = ()
    #: the job's timeout timer
    timeout_handle: TimerHandle | None = None
    #: what waits at breakpoints, oldest first
    parked: tuple[Parked, ...] = ()
    #: retries that came due while the job or worker was paused
    held_retries: tuple[ActivationContext, ...] = ()
    #: the routine and inputs of the activation that failed the job (for ``retry``)
    failed_step: tuple[str, dict[str, list[Any]]] | None = None
    #: the first delivery and the job data it started with (for ``retry``)
    entry_data: dict[str, Any] | None = None
    seed_data: dict[str, Any] | None = None
    #: items discarded (cancelled, dropped at a breakpoint, left unconsumed)
    discarded: int = 0
    #: pool threads lent because activations of this job outlived its timeout
    lent: int = 0
    #: set when the job finishes; created by the first waiter (or :data:`ALREADY_DONE` if none waited)
    done: Done | None = None
    #: called once the job finishes (``JobContext.add_done_callback``)
    callbacks: tuple[Callable[[Any], None], ...] = ()
    #: the job's recorded steps (``job.steps``, ``job.fork``); None when not recording
    steps: StepLog | None = None

    def __init__(self) -> None:
        self.active = self.queued = self.discarded = self.lent = 0
        self.keys = {}
        self.since = self.last = self.wake = self.seed_data = None
        self.flush = self.deferred = _NONE  # shared: a new empty frozenset is a tracked object
        self.user_paused = False
        self.step = self.timeout_handle = self.failed_step = self.entry_data = None
        self.done = self.steps = None
        self.retry_timers = self.parked = self.held_retries = self.callbacks = ()


class Done:
    """A one-shot "finished" signal, cheaper than ``threading.Event``: one raw lock, held
    until :meth:`set` releases it for good. ``wait``, ``set``, ``is_set`` as on an event."""

    __slots__ = ("_flag", "_lock")

    def __init__(self) -> None:
        self._flag = False
        self._lock = threading.Lock()
        self._lock.acquire()

    def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        try:
            self._lock.release()
        except RuntimeError:  # set twice: already released
            pass

    def is_set(self) -> bool:
        return self._flag

    def wait(self, timeout: float | None = None) -> bool:
        if self._flag:
            return True
        if self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            self._lock.release()  # let the next waiter through
            return True
        return self._flag


_done_lock = threading.Lock()
#: the ``done`` of a job that finished before anyone waited for it (shared: never allocated)
ALREADY_DONE = Done()
ALREADY_DONE.set()


def done_event(run: JobRun) -> Done:
    """The event set when the job finishes (made on first use: most jobs are never awaited).

    Made under a lock of its own, not the worker's, so waiters never hold up drainers. The
    caller reads the job's status *after* this returns and sets the event if the job has
    finished: the engine sets the status before it reads ``run.done``, so one of the two
    always sets it.
    """
    done = run.done
    if done is None:
        with _done_lock:
            done = run.done
            if done is None:
                done = run.done = Done()
    return done


def call_done_callbacks(job: Any, run: JobRun) -> None:
    """Run (once) what ``job.add_done_callback`` registered; a failing callback is logged."""
    callbacks, run.callbacks = run.callbacks, ()
    for callback in callbacks:
        try:
            callback(job)
        except Exception:
            logging.getLogger("routilux_nb.core.worker").exception(
                "done callback %r of job %s failed", callback, job.job_id
            )
