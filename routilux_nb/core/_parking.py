"""Parking: holding a job's work at breakpoints, and the stepping API that releases it.

A breakpoint *parks* what reached it (an activation, a delivery or an emit) with its job
context: the job turns ``paused`` and the parked item counts as activity, so the job cannot
complete under the user's eyes. The debugger (and anything else) then calls the public
methods of :class:`Parking`, reached as ``worker.parking``:

=====================================  ========================================================
``parking.release(job)``               release everything parked; the job runs on
``parking.step(job, "over")``          release, then park again at the job's next activation
``parking.step(job, "into")``          release, then park at the first activation fed by what
                                       the released work emits
``parking.drop(job, parked=None)``     discard one parked item (default: the oldest); the job
                                       runs on when nothing else holds it
``parking.pause_job(job)``             ``job.pause()``: start no new activation of the job
``parking.resume_job(job)``            ``job.resume()``: undo ``pause_job`` and ``release``
=====================================  ========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ._jobrun import FINISHED, StepMode
from .errors import JobStateError

if TYPE_CHECKING:
    from ._delivery import Delivery
    from ._execution import Execution
    from ._scheduling import Schedule
    from .job import JobContext, Parked
    from .runtime import Runtime

__all__ = ["Parking"]


class Parking:
    """Breakpoint parking and stepping for one worker (see module docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        schedule: Schedule,
        delivery: Delivery,
        execution: Execution,
        monitor: Any,
    ) -> None:
        self.runtime = runtime
        self.schedule = schedule
        self.delivery = delivery
        self.execution = execution
        self.flow = schedule.flow
        self.monitor = monitor

    # -- the stepping API ----------------------------------------------------------------
    def park(self, parked: Parked) -> None:
        """Hold ``parked`` (made by a breakpoint); its job turns ``paused``."""
        job = parked.job
        sched = self.schedule
        with sched.lock:
            if job.status in FINISHED:
                return
            job._run.active += 1
            if job.status != "paused":
                sched.set_status(job, "paused")
            job._run.parked += (parked,)
        self.monitor.parked(parked)

    def release(
        self, job: JobContext, action: str = "resume", step: StepMode | None = None
    ) -> list[Parked]:
        """Release every parked item of ``job`` and let it run on; returns what was released.

        ``action`` is what the trace records (``resume``, ``step_over``, ``step_into``);
        ``step`` makes the job park again at its next activation (see :meth:`step`).
        """
        sched = self.schedule
        run = job._run
        with sched.lock:
            parked, run.parked = run.parked, ()
            run.step = step
            if job.status == "paused" and not run.user_paused:
                sched.set_status(job, "running")
            self._poke_deferred(job)
        for p in parked:
            self.monitor.unparked(p, action)
            self.runtime._spawn(self._run_parked, p)
        self.release_retries(job)
        if not parked:
            with sched.lock:
                if run.active <= 0:
                    sched.settle(job)
        return list(parked)

    def step(self, job: JobContext, mode: Literal["over", "into"] = "over") -> list[Parked]:
        """Release the parked work, then park again: at the job's next activation (``over``)
        or at the first activation fed by what the released work emits (``into``)."""
        if mode not in ("over", "into"):
            raise ValueError(f"step mode must be 'over' or 'into', got {mode!r}")
        step: StepMode = ("over", None)
        if mode == "into":
            first = job._run.parked[0] if job._run.parked else None
            source = None
            if first is not None:
                source = (
                    first.act_id
                    if first.is_activation
                    else (first.hop[1] if first.hop is not None else None)
                )
            if source is not None:
                step = ("into", source)
        return self.release(job, f"step_{mode}", step)

    def drop(self, job: JobContext, parked: Parked | None = None) -> Parked:
        """Discard ``parked`` (default: the oldest parked item of ``job``), recorded in the trace.

        When nothing else of the job is parked and the user did not pause it, the job runs on.
        """
        if parked is None:
            if not job._run.parked:
                raise JobStateError(f"job {job.job_id!r} has nothing parked to drop")
            parked = job._run.parked[0]
        self.discard(job, parked)
        run = job._run
        if not run.parked and job.status == "paused" and not run.user_paused:
            self.release(job)
        return parked

    def discard(self, job: JobContext, parked: Parked) -> None:
        """Discard one parked item, and nothing more (:meth:`drop` also lets the job run on)."""
        sched = self.schedule
        with sched.lock:
            if parked not in job._run.parked:
                raise JobStateError(f"{parked!r} is no longer parked in job {job.job_id!r}")
            job._run.parked = tuple(p for p in job._run.parked if p is not parked)
            job._run.discarded += 1
        self.monitor.unparked(parked, "drop")
        job.log(
            parked.routine_id,
            "dropped",
            kind=parked.kind,
            slot=parked.slot_name,
            event=parked.event_name,
        )
        with sched.lock:
            sched.release(job)

    def pause_job(self, job: JobContext) -> None:
        """Start no new activation of ``job`` (running ones finish); nothing is lost."""
        sched = self.schedule
        with sched.lock:
            if job.status in FINISHED:
                raise JobStateError(
                    f"job {job.job_id!r} is {job.status}; only unfinished jobs can be paused"
                )
            job._run.user_paused = True
            if job.status != "paused":
                sched.set_status(job, "paused")

    def resume_job(self, job: JobContext) -> None:
        """Undo :meth:`pause_job` and release what is parked; a job that is not paused is a
        ``JobStateError`` here (``job.resume()`` only warns)."""
        if job.status != "paused":
            raise JobStateError(
                f"job {job.job_id!r} is {job.status}, not paused; nothing to resume"
            )
        with self.schedule.lock:
            job._run.user_paused = False
        self.release(job, "resume")

    # -- engine side ---------------------------------------------------------------------
    def worker_resumed(self, jobs: list[JobContext]) -> None:
        """The worker resumed: poke what waited for it and release held retries."""
        with self.schedule.lock:
            for job in jobs:
                if not job._run.user_paused and not job._run.parked:
                    self._poke_deferred(job)
            self.schedule.room.notify_all()
        for job in jobs:
            if job._run.held_retries:
                self.release_retries(job)

    def _poke_deferred(self, job: JobContext) -> None:
        """Make ready what became ready while the job was held (lock held)."""
        deferred, job._run.deferred = job._run.deferred, frozenset()
        routines = self.flow.routines
        for rid in deferred:
            routine = routines.get(rid)
            if routine is not None and self.schedule.has_items(job, routine):
                self.schedule.poke(job, rid)

    def release_retries(self, job: JobContext) -> None:
        sched = self.schedule
        with sched.lock:
            run = job._run
            if run.user_paused or run.parked or sched.status == "paused":
                return
            held, run.held_retries = run.held_retries, ()
        for act in held:
            self.execution.spawn_retry(act)

    def _run_parked(self, p: Parked) -> None:
        job = p.job
        sched = self.schedule
        try:
            if job.status in FINISHED:
                return
            if p.target is None:
                routine = self.flow.routines.get(p.routine_id)
                if routine is not None:
                    self.execution.run(
                        job,
                        routine,
                        p.payload,
                        [p.hop],
                        p.hop,
                        p.attempt,
                        skip_check=True,
                        act_id=p.act_id,
                    )
                    with sched.lock:
                        if sched.has_items(job, routine):
                            sched.poke(job, p.routine_id)
            elif p.kind == "event":
                self.delivery.route(job, p.target, p.payload, p.hop)
            else:
                rid, slot = p.target
                self.delivery.deliver(job, rid, slot, p.payload, p.hop, front=True, checked=True)
        finally:
            with sched.lock:
                sched.release(job)
