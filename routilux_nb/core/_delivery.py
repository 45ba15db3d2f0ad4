"""Moving items: an emit is routed to every connected slot and queued for its job.

Backpressure, and why jobs never deadlock each other
----------------------------------------------------
A slot's ``max_length`` bounds the items **each job** holds in the slot's queue. A routine
of job ``J`` emitting into a slot where ``J`` already holds ``max_length`` items waits for
room; items of other jobs never make it wait. So whenever a producer waits, the items in
its way are its own job's, and their consumer is that job's routine, which is

* ready or running: it makes room (a waiting emitter even runs it itself, "caller runs",
  so a pool full of blocked emitters cannot deadlock), or
* *holding them for its job's upstream to finish* (an activation policy that takes items
  only once the job is otherwise idle: ``aggregator``, ``batcher`` without timeout, any
  ``flush_on_idle`` policy with no timer pending): waiting could never end, since the
  waiting producer is that upstream. Such items do not count against the bound: the
  producer goes on, and the queue holds what the job needs to hold.

Otherwise (a consumer that is slow or stuck, a join waiting for its other slot, a paused
worker or job) the producer waits, and after the slot's ``put_timeout`` raises
:class:`~routilux_nb.core.errors.BackpressureTimeout` naming who holds the items, what their
consumer waits for, and the remedy (see ``core/_fullness.py``). A paused worker starts
nothing, not even by caller runs: its emitters only wait.

A *submitter* (``submit``, outside any job) putting a new job's first items waits while the
slot holds ``max_length`` items of all jobs together: no job waits for a submitter, so this
cannot deadlock, and it is how a full entry slot pushes back on callers (HTTP answers 503).
How many jobs hold items at once is bounded by admission (``core/admission.py``), so one
queue holds at most ``max_active_jobs * max_length`` items (plus items held as above).

Time an activation spends waiting here is its *blocked* time, recorded apart from its run
time (``total_blocked_time`` in the routine's metrics). It includes consumer activations the
emitter ran inline meanwhile (each also recorded as its own activation): all of it is time
the emitter spent because the slot was full, none of it the emitter's own work. It is
measured only once a slot is full, so the hot path pays nothing for it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._fullness import explain_full, must_wait
from ._jobrun import FINISHED, Hop
from .context import activation_depth, current_activation
from .errors import BackpressureTimeout
from .job import Parked
from .payloads import owned

if TYPE_CHECKING:
    from ._execution import Execution
    from ._parking import Parking
    from ._scheduling import Schedule
    from .context import ActivationContext
    from .job import JobContext
    from .slot import SlotQueue

__all__ = ["MAX_INLINE_DEPTH", "Delivery", "Route"]

#: how deeply a blocked emitter may run consumers inline (each may block and run its own)
MAX_INLINE_DEPTH = 16
#: how often a waiting emitter looks again for work it may run (seconds)
_ROOM_POLL = 0.05
#: one connection out of an event: (target routine, target slot, connection index)
Route = tuple[str, str, int]


class Delivery:
    """Routing and backpressure of one worker."""

    def __init__(self, schedule: Schedule, monitor: Any) -> None:
        self.schedule = schedule
        self.flow = schedule.flow
        self.monitor = monitor
        #: items sent through each connection (by connection index)
        self.connection_counts: dict[int, int] = {}
        self.parking: Parking
        self.execution: Execution

    def bind(self, parking: Parking, execution: Execution) -> None:
        self.parking, self.execution = parking, execution

    def emit(self, act: ActivationContext, event: str, payload: dict[str, Any]) -> None:
        """Route one emitted payload to every connected slot at once (called from logic)."""
        out = act.outs.get(event)
        if out is None:  # first emit of this event in this activation
            routine = act.routine
            routes = self.flow.routes(routine.routine_id, event)
            if not routes and event not in routine.event_specs:
                routine.event(event)  # raises UnknownEventError naming the events
            out = act.outs[event] = ((act.hop, act.act_id, routine.routine_id, event), routes)
        hop, routes = out
        job = act.job
        if job.status in FINISHED:
            job._run.discarded += len(routes)
            return
        mon = self.monitor
        mon.emit(act, event, payload)
        if mon.armed:
            bp = mon.check("event", job, hop[2], event, payload)
            if bp is not None:
                self.parking.park(
                    Parked(
                        "event",
                        job,
                        hop[2],
                        payload,
                        hop,
                        event_name=event,
                        breakpoint_id=bp,
                        target=routes,
                        act_id=act.act_id,
                    )
                )
                return
        elif len(routes) == 1:  # the common case: one connection, no breakpoints
            target, slot, index = routes[0]
            counts = self.connection_counts
            counts[index] = counts.get(index, 0) + 1
            payload = owned(payload)
            sched = self.schedule
            lock = sched.lock  # ``deliver``, inline: the hot path of every item
            if not lock.try_acquire():
                lock.acquire()
            try:
                q = sched.queues.get((target, slot)) or sched.queue(target, slot)
                if q.count >= q.max_length:  # the queue's total: a cheap first test
                    self.wait_for_room(q, job)
                sched.put(job, q, payload, hop)
            finally:
                lock.release()
            return
        self.route(job, routes, payload, hop)

    def route(
        self, job: JobContext, routes: tuple[Route, ...], payload: dict[str, Any], hop: Hop | None
    ) -> None:
        counts = self.connection_counts
        mon = self.monitor
        for target, slot, index in routes:
            counts[index] = counts.get(index, 0) + 1
            if mon.armed:
                bp = mon.check("connection", job, target, slot, payload, index)
                if bp is not None:
                    self.parking.park(
                        Parked(
                            "connection",
                            job,
                            target,
                            payload,
                            hop,
                            slot_name=slot,
                            breakpoint_id=bp,
                            target=(target, slot),
                            connection_index=index,
                        )
                    )
                    continue
            self.deliver(job, target, slot, owned(payload), hop)

    def deliver(
        self,
        job: JobContext,
        rid: str,
        slot: str,
        payload: dict[str, Any],
        hop: Hop | None,
        *,
        front: bool = False,
        checked: bool = False,
        submitting: bool = False,
    ) -> None:
        """Put one item into ``rid.slot`` for ``job``, waiting for room if the slot is full
        (``submitting``: the item is a new job's first, put by its submitter)."""
        mon = self.monitor
        if mon.armed and not checked:
            bp = mon.check("slot", job, rid, slot, payload)
            if bp is not None:
                self.parking.park(
                    Parked(
                        "slot",
                        job,
                        rid,
                        payload,
                        hop,
                        slot_name=slot,
                        breakpoint_id=bp,
                        target=(rid, slot),
                    )
                )
                return
        sched = self.schedule
        lock = sched.lock
        if not lock.try_acquire():
            lock.acquire()
        try:
            q = sched.queues.get((rid, slot)) or sched.queue(rid, slot)
            if q.count >= q.max_length and not front:  # the queue's total: a cheap first test
                self.wait_for_room(q, job, submitting=submitting)
            sched.put(job, q, payload, hop, front)
        finally:
            lock.release()

    def wait_for_room(self, q: SlotQueue, job: JobContext, *, submitting: bool = False) -> None:
        """Backpressure (lock held): run ready work of the full slot's routine, else wait.

        The time spent here is the current activation's *blocked* time, recorded apart from
        its run time (``ActivationContext.blocked``)."""
        if not must_wait(self.schedule, q, job, submitting):
            return
        t0 = time.perf_counter()
        try:
            self._wait(q, job, submitting)
        finally:
            act = current_activation()
            if act is not None:
                act.blocked += time.perf_counter() - t0

    def _wait(self, q: SlotQueue, job: JobContext, submitting: bool) -> None:
        sched = self.schedule
        deadline = time.monotonic() + q.slot.put_timeout
        while (
            job.status not in FINISHED
            and sched.status != "stopped"
            and must_wait(sched, q, job, submitting)
        ):
            stolen = self._steal(q.routine_id, None if submitting else job)
            if stolen is not None:
                sched.lock.release()
                try:
                    self.execution.run_key(*stolen)
                finally:
                    sched.lock.acquire()
                deadline = time.monotonic() + q.slot.put_timeout  # running the consumer is progress
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BackpressureTimeout(explain_full(sched, q, job, submitting))
            sched.room.wait(min(remaining, _ROOM_POLL))

    def _steal(self, rid: str, job: JobContext | None) -> tuple[JobContext, str] | None:
        """A ready key of ``rid`` (of ``job`` when given: only its own consumer makes room for
        a job's producer) this emitter may run inline (never while the worker is paused)."""
        if self.schedule.status != "running":
            return None
        depth = activation_depth()
        if depth == 0 or depth >= MAX_INLINE_DEPTH:
            return None
        ready = self.schedule.ready
        for i, (kjob, krid) in enumerate(ready):
            if krid == rid and (job is None or kjob is job):
                del ready[i]
                return kjob, krid
        return None
