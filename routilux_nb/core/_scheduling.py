"""The scheduling state machine of one worker: which keys are ready, and when a job ends.

Every method runs with :attr:`Schedule.lock` held (a timer callback takes it itself) and
does no I/O: it moves items between queues, turns keys ``IDLE -> READY -> RUNNING -> IDLE``,
counts each job's activity and finishes jobs. A job's ``keys`` hold its ready and running
routines only: a routine absent from them is idle. ``spawn`` (start a drainer) and ``call_at`` (a
timer) come in as callables, so it can be driven step by step without threads.

A job is *active* while it has ready or running keys, pending timers or parked items
(``JobRun.active``). When that falls to zero the job is idle: policies that flush on idle
(batches) take what is left; otherwise the job completes. How a job ends (status changes,
finishing, its ``done`` event) is the mixin :class:`~routilux_nb.core._ending.JobEnding`.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, cast

from ._ending import JobEnding
from ._jobrun import FINISHED, Hop, KeyState, WorkerStatus
from ._lock import YieldingLock
from .policies import Decision
from .slot import SlotQueue

if TYPE_CHECKING:
    from .flow import Flow
    from .job import JobContext
    from .routine import Routine
    from .scheduler import TimerHandle

__all__ = ["Prepared", "Schedule"]

READY, RUNNING = KeyState.READY, KeyState.RUNNING
_first, _second = itemgetter(0), itemgetter(1)
#: what a drainer runs: the routine, its inputs by slot, the hops of the items, the first hop
Prepared = tuple["Routine", dict[str, list[Any]], list[Any], Any]


class Schedule(JobEnding):
    """Queues, ready keys and job activity of one worker (see module docstring)."""

    def __init__(
        self,
        flow: Flow,
        monitor: Any,
        *,
        spawn: Callable[[], None],
        call_at: Callable[..., TimerHandle],
        on_finished: Callable[[JobContext], None],
        max_concurrency: int,
    ) -> None:
        self.flow = flow
        self.monitor = monitor
        self.spawn = spawn
        self.call_at = call_at
        self.on_finished = on_finished
        self.max_concurrency = max_concurrency
        #: guards everything here; contended, it gives the GIL away instead of convoying
        self.lock = YieldingLock()
        #: notified when a full slot gets room (and when the worker stops)
        self.room = threading.Condition(cast("threading.Lock", self.lock))
        self.queues: dict[tuple[str, str], SlotQueue] = {}
        self.ready: deque[tuple[JobContext, str]] = deque()
        self.jobs: dict[str, JobContext] = {}
        #: drainers started and not yet returned; those of them running an activation
        self.drainers = 0
        self.busy = 0
        #: "running", "paused" or "stopped"; drainers run only while "running"
        self.status: WorkerStatus = "running"
        self.jobs_processed = 0
        self.jobs_failed = 0

    # -- queues --------------------------------------------------------------------------
    def queue(self, rid: str, slot: str) -> SlotQueue:
        q = self.queues.get((rid, slot))
        if q is None:
            q = self.queues[(rid, slot)] = SlotQueue(rid, self.flow.get_routine(rid).slot(slot))
        return q

    def is_full(self, rid: str, slot: str) -> bool:
        """Whether a delivery into ``rid.slot`` would wait for room (a lock-free hint)."""
        q = self.queues.get((rid, slot))
        return q is not None and q.count >= q.max_length

    def put(
        self,
        job: JobContext,
        q: SlotQueue,
        payload: dict[str, Any],
        hop: Hop | None,
        front: bool = False,
    ) -> None:
        """Queue one item for ``job`` and poke its routine."""
        run = job._run
        if job.status in FINISHED:
            run.discarded += 1
            return
        by_job = q.by_job
        items = by_job.get(job.job_id)
        if items is None:
            items = by_job[job.job_id] = deque()
        if front:
            items.appendleft((payload, hop))
        else:
            items.append((payload, hop))
        q.count += 1
        q.total_count += 1
        run.queued += 1
        rid = q.routine_id
        if rid in run.keys:  # ready or running: it takes the item when it runs next
            return
        routine = self.flow.routines.get(rid)
        if routine is None or not routine.activation_policy.is_immediate:
            self.poke(job, rid)
            return
        # make_ready, inline: the hot path of every item
        run.keys[rid] = READY
        run.active += 1
        ready = self.ready
        ready.append((job, rid))
        if self.drainers - self.busy < len(ready) and self.drainers < self.max_concurrency:
            self.spawn_drainers()

    def has_items(self, job: JobContext, routine: Routine) -> bool:
        jid = job.job_id
        rid = routine.routine_id
        for s in routine.slot_specs:
            q = self.queues.get((rid, s))
            if q is not None and jid in q.by_job:
                return True
        return False

    def _counts(self, job: JobContext, routine: Routine) -> dict[str, int]:
        rid, jid = routine.routine_id, job.job_id
        return {s: self.queue(rid, s).job_count(jid) for s in routine.slot_specs}

    # -- keys ----------------------------------------------------------------------------
    def poke(self, job: JobContext, rid: str) -> None:
        """Items arrived or a timer fired for ``(job, rid)``: make it ready if its policy agrees."""
        run = job._run
        if rid in run.keys or job.status in FINISHED:
            return
        routine = self.flow.routines.get(rid)
        if routine is None:
            return
        if not routine.activation_policy.is_immediate:
            counts = self._counts(job, routine)
            mono = time.monotonic()
            if any(counts.values()):
                since = run.since
                if since is None:
                    since = run.since = {}
                since.setdefault(rid, mono)
            decision = self.decide(job, routine, counts, mono)
            if decision is None or not decision.take:
                if decision is not None and decision.wake_at is not None:
                    self.wake_later(job, rid, decision.wake_at)
                return
        self.make_ready(job, rid)

    def make_ready(self, job: JobContext, rid: str) -> None:
        job._run.keys[rid] = READY  # (inlined in ``put``)
        job._run.active += 1
        self.ready.append((job, rid))
        if self.drainers - self.busy < len(self.ready) and self.drainers < self.max_concurrency:
            self.spawn_drainers()

    def decide(
        self,
        job: JobContext,
        routine: Routine,
        counts: dict[str, int],
        mono: float,
        flush: bool = False,
    ) -> Decision | None:
        """Ask the routine's policy; a policy that raises fails the job (``None``)."""
        policy = routine.activation_policy
        rid = routine.routine_id
        run = job._run
        try:
            if flush:
                return policy.flush(counts)
            return policy.decide(
                counts,
                now=mono,
                last=None if run.last is None else run.last.get(rid),
                since=None if run.since is None else run.since.get(rid),
            )
        except Exception as exc:
            tb = traceback.format_exc()
            self.finish(
                job,
                "failed",
                error=f"activation policy of routine {rid!r} raised {type(exc).__name__}: {exc}",
                error_type=type(exc).__name__,
                tb=tb,
            )
            return None

    def spawn_drainers(self) -> None:
        """Start drainers until every ready key has an idle one (up to ``max_concurrency``)."""
        if self.status != "running":
            return
        while self.drainers - self.busy < len(self.ready) and self.drainers < self.max_concurrency:
            self.drainers += 1
            self.spawn()

    def prepare(self, job: JobContext, rid: str) -> Prepared | None:
        """Take the items of a ready key; ``None`` if there is nothing to run."""
        run = job._run
        keys = run.keys
        routine = self.flow.routines.get(rid)
        if job.status in FINISHED or routine is None:
            keys.pop(rid, None)
            self.release(job)
            return None
        if run.user_paused or run.parked or self.status != "running":
            keys.pop(rid, None)
            run.deferred |= {rid}
            run.active -= 1
            return None
        take: dict[str, int | None] | None
        if routine.activation_policy.is_immediate and rid not in run.flush:
            take = None  # everything queued
        else:
            flush = rid in run.flush
            if flush:
                run.flush -= {rid}
            decision = self.decide(
                job, routine, self._counts(job, routine), time.monotonic(), flush
            )
            if decision is None:  # the policy raised: the job has failed
                keys.pop(rid, None)
                run.active -= 1
                return None
            take = decision.take
            if not take:
                if decision.wake_at is not None:
                    self.wake_later(job, rid, decision.wake_at)
                keys.pop(rid, None)
                self.release(job)
                return None
        inputs: dict[str, list[Any]] = {}
        hops: list[Any] = []
        was_full = False
        queues = self.queues
        jid = job.job_id
        for slot in routine.slot_specs if take is None else take:
            q = queues.get((rid, slot))
            if q is None or jid not in q.by_job:
                continue
            count = q.count
            if count >= q.max_length:
                was_full = True
            items: Sequence[tuple[dict[str, Any], Any]]
            if take is None:  # ``q.take(jid)``, inline: all of the job's items
                items = q.by_job.pop(jid)
                n = len(items)
                q.count = count - n
            else:
                items = q.take(jid, take[slot])
                n = len(items)
            run.queued -= n
            if n == 1:  # the common case of small jobs: no comprehension frames
                payload, item_hop = items[0]
                inputs[slot] = [payload]
                hops.append(item_hop)
            else:
                inputs[slot] = list(map(_first, items))
                hops += map(_second, items)
        if not inputs:
            keys.pop(rid, None)
            self.release(job)
            return None
        if was_full:
            self.room.notify_all()
        keys[rid] = RUNNING
        if job.status == "pending":
            self.set_status(job, "running", started=True)
        if take is not None:  # what time-based policies decide on
            last = run.last
            if last is None:
                last = run.last = {}
            last[rid] = time.monotonic()
            if run.since is not None:
                run.since.pop(rid, None)
        hop = hops[0]
        if hop is None and len(hops) > 1:
            hop = next((h for h in hops if h is not None), None)
        return routine, inputs, hops, hop

    def key_done(self, job: JobContext, routine: Routine) -> None:
        """An activation of ``(job, routine)`` ended: make it ready again, or release it."""
        rid = routine.routine_id
        run = job._run
        run.keys.pop(rid, None)
        if run.queued:  # items arrived meanwhile (``has_items``, inline)
            jid, queues = job.job_id, self.queues
            for s in routine.slot_specs:
                q = queues.get((rid, s))
                if q is not None and jid in q.by_job:
                    self.poke(job, rid)
                    break
        run.active -= 1
        if run.active <= 0:
            self.settle(job)

    # -- timers --------------------------------------------------------------------------
    def wake_later(self, job: JobContext, rid: str, when: float) -> None:
        run = job._run
        wake = run.wake
        if wake is None:
            wake = run.wake = {}
        old = wake.get(rid)
        if old is not None and not old.cancelled and old.when <= when:
            return
        if old is not None:
            old.cancel()
            run.active -= 1
        run.active += 1
        wake[rid] = self.call_at(when, self.timer_fired, job, rid)

    def timer_fired(self, job: JobContext, rid: str) -> None:
        """A policy's timer came due (on the timer thread: takes the lock itself)."""
        with self.lock:
            if job._run.wake is not None:
                job._run.wake.pop(rid, None)
            self.poke(job, rid)
            self.release(job)

    # -- job activity --------------------------------------------------------------------
    def release(self, job: JobContext) -> None:
        """One unit of a job's activity ended."""
        run = job._run
        run.active -= 1
        if run.active <= 0:
            self.settle(job)

    def settle(self, job: JobContext) -> None:
        """The job is idle: flush what may be flushed, else complete it."""
        run = job._run
        if job.status in FINISHED or run.user_paused or run.parked:
            return
        if not run.queued:  # nothing of the job waits in any slot
            self.complete(job, "completed")
            return
        jid = job.job_id
        leftovers: dict[str, dict[str, int]] = {}
        for (rid, slot), q in self.queues.items():
            if jid in q.by_job:
                leftovers.setdefault(rid, {})[slot] = q.job_count(jid)
        if not leftovers:
            self.complete(job, "completed")
            return
        order = self.flow.order()
        for rid in sorted(leftovers, key=lambda r: order.get(r, len(order))):
            routine = self.flow.routines.get(rid)
            if routine is None:
                continue
            decision = self.decide(job, routine, leftovers[rid], time.monotonic(), flush=True)
            if job.status in FINISHED:
                return
            if decision is not None and decision.take:
                run.flush |= {rid}
                if rid not in run.keys:
                    self.make_ready(job, rid)
                return  # flush upstream first: what it emits may feed the next flush
        total = sum(sum(c.values()) for c in leftovers.values())
        job.log(
            None,
            "unconsumed",
            count=total,
            where=leftovers,
            message="items left in slots whose activation policy never fired; discarded at completion",
        )
        self.discard_items(job)
        self.monitor.discarded(job, total, "activation policy never fired")
        self.complete(job, "completed")
