"""Running activations: drainers, the one execution path, error strategies and retries.

*Drainer* tasks on the runtime's pool pop ready keys and run them; one drainer runs as many
keys as it finds, so a chain of routines runs without a thread hop per item, and at most
``max_concurrency`` drainers run at once. Every activation, whatever fed it (a drainer, an
emitter making room, a retry, a breakpoint released), goes through :meth:`Execution.run`:
the same context, hooks, breakpoints, error strategies and history.

Whatever a routine raises fails (or retries, per its strategy) that job only, including
``BaseException`` such as ``SystemExit`` or ``asyncio.CancelledError``; a
``KeyboardInterrupt`` (a notebook interrupt) cancels the job. The worker keeps serving.
"""

from __future__ import annotations

import itertools
import logging
import time
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._jobrun import FINISHED
from .context import ActivationContext
from .error_handling import ErrorHandler
from .job import Parked
from .offload import call_offloaded
from .steps import StepLog

if TYPE_CHECKING:
    from ._delivery import Delivery
    from ._parking import Parking
    from ._scheduling import Schedule
    from .job import JobContext
    from .routine import Routine
    from .runtime import Runtime
    from .worker import Worker

__all__ = ["Execution"]

log = logging.getLogger("routilux_nb.core.worker")
_DEFAULT_HANDLER = ErrorHandler()
_act_ids = itertools.count(1)


class Execution:
    """Drains ready keys and runs activations for one worker."""

    def __init__(
        self, worker: Worker, runtime: Runtime, schedule: Schedule, delivery: Delivery, monitor: Any
    ) -> None:
        self.worker = worker
        self.worker_id = worker.worker_id
        self.runtime = runtime
        self.schedule = schedule
        self.delivery = delivery
        self.flow = schedule.flow
        self.monitor = monitor
        #: the executor routine logic is sent to when it leaves this process (see core.offload)
        self.offload = runtime._offload
        self.parking: Parking

    def bind(self, parking: Parking) -> None:
        self.parking = parking

    # -- drainers ------------------------------------------------------------------------
    def drain(self) -> None:
        """Run ready keys until none is left; one lock section between two activations."""
        sched = self.schedule
        lock = sched.lock
        try_acquire = lock.try_acquire  # the uncontended case as one C call (see core._lock)
        ready = sched.ready
        run = self.run
        if not try_acquire():
            lock.acquire()
        try:
            while True:
                if not ready or sched.status != "running":
                    sched.drainers -= 1
                    return
                job, rid = ready.popleft()
                prepared = sched.prepare(job, rid)
                if prepared is None:
                    continue
                sched.busy += 1
                routine, inputs, hops, hop = prepared
                lock.release()
                try:
                    run(job, routine, inputs, hops, hop)
                except BaseException:  # never lose a drainer; the engine's own failure is logged
                    log.exception(
                        "worker %s: internal error while running %s of job %s",
                        self.worker_id,
                        rid,
                        job.job_id,
                    )
                finally:
                    if not try_acquire():
                        lock.acquire()
                    sched.busy -= 1
                    sched.key_done(job, routine)
        finally:
            lock.release()

    def run_key(self, job: JobContext, rid: str) -> None:
        """Run one ready key on this thread (an emitter making room)."""
        sched = self.schedule
        with sched.lock:
            prepared = sched.prepare(job, rid)
        if prepared is None:
            return
        routine, inputs, hops, hop = prepared
        try:
            self.run(job, routine, inputs, hops, hop)
        finally:
            with sched.lock:
                sched.key_done(job, routine)

    # -- one activation ------------------------------------------------------------------
    def run(
        self,
        job: JobContext,
        routine: Routine,
        inputs: dict[str, list[Any]],
        hops: list[Any],
        hop: Any,
        attempt: int = 0,
        *,
        skip_check: bool = False,
        act_id: int | None = None,
    ) -> None:
        """The one execution path of every activation."""
        act = ActivationContext(
            self.worker, routine, job, inputs, hop, act_id or next(_act_ids), attempt
        )
        mon = self.monitor
        if not skip_check and (mon.armed or job._run.step is not None):
            bp = self._activation_breakpoint(act, hops)
            if bp is not None:
                self.parking.park(
                    Parked(
                        bp[0],
                        job,
                        routine.routine_id,
                        inputs,
                        hop,
                        breakpoint_id=bp[1],
                        slot_name=next(iter(inputs), None),
                        attempt=attempt,
                        act_id=act.act_id,
                    )
                )
                return
        if job.status == "pending":
            with self.schedule.lock:
                if job.status == "pending":
                    self.schedule.set_status(job, "running", started=True)
        steps = job._run.steps  # recorded steps (core.steps): None when not recording
        step = None if steps is None else steps.begin(act)
        mon.activation_start(act)
        error: BaseException | None = None
        t0 = time.perf_counter()
        try:
            with act:
                offload = self.offload
                if offload is None:
                    result = routine._invoke(act, inputs)
                else:
                    result = call_offloaded(offload, act, routine, inputs)
                if result is not None:
                    self._emit_returned(act, result)
        except BaseException as exc:  # whatever a routine raises concerns its job only
            error = exc
        finally:
            if job._run.lent:
                self._repay(job)
        # run time: what the activation waited for room in full slots is its blocked time
        if error is None:
            ran = time.perf_counter() - t0 - act.blocked
            mon.activation_end(act, ran, None)
            if step is not None:
                StepLog.end(step, job, ran, None)
            return
        skipped = self.handler_for(routine).strategy == "skip" and not isinstance(
            error, KeyboardInterrupt
        )
        ran = time.perf_counter() - t0 - act.blocked
        mon.activation_end(act, ran, None if skipped else error)
        if step is not None:
            StepLog.end(step, job, ran, error)
        self._handle_error(act, error)

    def _repay(self, job: JobContext) -> None:
        """An activation that outlived its job's timeout returned: give its thread back."""
        with self.schedule.lock:
            if job._run.lent <= 0:
                return
            job._run.lent -= 1
        self.runtime._repay_threads(1)

    def _activation_breakpoint(
        self, act: ActivationContext, hops: list[Any]
    ) -> tuple[str, str | None] | None:
        job = act.job
        step = job._run.step
        if step is not None:
            mode, source = step
            if mode == "over" or any(h is not None and h[1] == source for h in hops):
                with self.schedule.lock:
                    job._run.step = None
                return ("step", None)
        if self.monitor.armed:
            bp = self.monitor.check("routine", job, act.routine.routine_id, None, act.inputs)
            if bp is not None:
                return ("routine", bp)
        return None

    def _emit_returned(self, act: ActivationContext, result: Any) -> None:
        rid = act.routine.routine_id
        events = act.routine.event_specs
        if len(events) != 1:
            raise TypeError(
                f"routine {rid!r} returned a value but has events {list(events)}: "
                "returning emits on the only event; with several events use ctx.emit(event, ...)"
            )
        event = next(iter(events))
        items = [result] if isinstance(result, Mapping) else result
        if not isinstance(items, (list, tuple)):
            raise TypeError(
                f"routine {rid!r} returned {type(result).__name__}: return a dict "
                "(emitted once), a list of dicts (each emitted) or None"
            )
        emit = self.delivery.emit
        for item in items:
            if not isinstance(item, Mapping):
                raise TypeError(
                    f"routine {rid!r} returned a list holding {type(item).__name__}: "
                    "every returned item must be a dict"
                )
            emit(act, event, dict(item))

    # -- errors and retries --------------------------------------------------------------
    def handler_for(self, routine: Routine) -> ErrorHandler:
        return routine.error_handler or self.flow.error_handler or _DEFAULT_HANDLER

    def _handle_error(self, act: ActivationContext, error: BaseException) -> None:
        job, routine = act.job, act.routine
        rid = routine.routine_id
        sched = self.schedule
        tb = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        if isinstance(error, KeyboardInterrupt):  # a notebook interrupt: cancel this job, cleanly
            self.monitor.routine_error(act, error, tb, "stop")
            with sched.lock:
                sched.finish(
                    job, "cancelled", reason=f"interrupted in routine {rid!r} (KeyboardInterrupt)"
                )
            return
        handler = self.handler_for(routine)
        strategy = handler.strategy
        if strategy == "retry" and act.attempt >= handler.max_retries:
            strategy = "stop"
        self.monitor.routine_error(act, error, tb, strategy)
        if strategy == "retry":
            delay = handler.delay(act.attempt + 1)
            job.log(rid, "retry_scheduled", attempt=act.attempt + 1, delay=delay, error=repr(error))
            with sched.lock:
                if job.status in FINISHED:
                    return
                job._run.active += 1
                # kept with the job so that cancelling or failing it cancels the retry too
                job._run.retry_timers += (
                    self.runtime.scheduler.call_later(delay, self._retry_due, act),
                )
        elif strategy == "continue":
            job.log(rid, "error_continued", error_type=type(error).__name__, error=str(error))
        elif strategy == "skip":
            job.log(rid, "skipped", error_type=type(error).__name__, error=str(error))
        else:
            message = f"routine {rid!r} failed: {type(error).__name__}: {error}"
            if act.attempt:
                message += f" (after {act.attempt} retries)"
            with sched.lock:
                job._run.failed_step = (rid, act.inputs)
                sched.finish(job, "failed", error=message, error_type=type(error).__name__, tb=tb)

    def _retry_due(self, act: ActivationContext) -> None:
        sched = self.schedule
        with sched.lock:
            run = act.job._run
            run.retry_timers = tuple(
                h for h in run.retry_timers if not h.cancelled and h.args[0] is not act
            )
            if run.user_paused or run.parked or sched.status == "paused":
                run.held_retries += (act,)  # released by resume
                return
        self.spawn_retry(act)

    def spawn_retry(self, act: ActivationContext) -> None:
        def retry() -> None:
            try:
                if act.job.status not in FINISHED:
                    self.run(
                        act.job,
                        act.routine,
                        act.inputs,
                        [act.hop],
                        act.hop,
                        act.attempt + 1,
                        skip_check=True,
                    )
            finally:
                with self.schedule.lock:
                    self.schedule.release(act.job)

        self.runtime._spawn(retry)
