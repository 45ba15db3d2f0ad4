"""Moving items: an emit is routed to every connected slot and queued for its job.

Backpressure: a delivery into a full slot waits for room. While it waits it runs ready
activations of the full slot's routine itself ("caller runs"), so a pool full of blocked
emitters cannot deadlock; after the slot's ``put_timeout`` it raises
:class:`~routilux_nb.core.errors.BackpressureTimeout`. A paused worker starts nothing, not
even this way: the emitter then only waits, and nothing runs until the worker resumes.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._jobrun import FINISHED, Hop
from .context import activation_depth
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
            self.deliver(job, target, slot, owned(payload), hop, checked=True)
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
    ) -> None:
        """Put one item into ``rid.slot`` for ``job``, waiting for room if the slot is full."""
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
        with sched.lock:
            q = sched.queues.get((rid, slot)) or sched.queue(rid, slot)
            if q.count >= q.max_length and not front:
                self.wait_for_room(q, job)
            sched.put(job, q, payload, hop, front)

    def wait_for_room(self, q: SlotQueue, job: JobContext) -> None:
        """Backpressure (lock held): run ready work of the full slot's routine, else wait."""
        sched = self.schedule
        deadline = time.monotonic() + q.slot.put_timeout
        while q.count >= q.max_length and job.status not in FINISHED and sched.status != "stopped":
            stolen = self._steal(q.routine_id)
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
                raise BackpressureTimeout(
                    f"slot {q.routine_id}.{q.name} stayed full ({q.count}/{q.max_length} items) for "
                    f"{q.slot.put_timeout} s; the consumer is too slow, stuck or its worker is paused. "
                    "Raise max_length or put_timeout with define_slot(), or slow the producer"
                )
            sched.room.wait(min(remaining, _ROOM_POLL))

    def _steal(self, rid: str) -> tuple[JobContext, str] | None:
        """A ready key of ``rid`` this emitter may run inline (never while the worker is paused)."""
        if self.schedule.status != "running":
            return None
        depth = activation_depth()
        if depth == 0 or depth >= MAX_INLINE_DEPTH:
            return None
        ready = self.schedule.ready
        for i, (job, krid) in enumerate(ready):
            if krid == rid:
                del ready[i]
                return job, krid
        return None
