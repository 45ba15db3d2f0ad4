"""When a delivery into a full slot must wait, and what to say when it waited too long.

Both run with the worker's lock held, and only once a queue holds ``max_length`` items in
total (the fast path never calls them). The rules are those of ``core/_delivery.py``: a
job's producer waits only for its own job's items, and never for items its consumer holds
until the job's upstream (the waiting producer included) is done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._jobrun import KeyState

if TYPE_CHECKING:
    from ._scheduling import Schedule
    from .job import JobContext
    from .routine import Routine
    from .slot import SlotQueue

__all__ = ["explain_full", "is_held", "must_wait"]

#: how many of the jobs holding a full queue's items its error message names
TOP_HOLDERS = 3


def must_wait(sched: Schedule, q: SlotQueue, job: JobContext, submitting: bool) -> bool:
    """Whether putting one more item of ``job`` into ``q`` waits for room now."""
    if q.count < q.max_length:
        return False
    if submitting:  # a new job's first items: the slot's total counts
        return True
    items = q.by_job.get(job.job_id)
    if items is None or len(items) < q.max_length:
        return False  # other jobs' items never make a job wait
    return not is_held(sched, q, job)


def is_held(sched: Schedule, q: SlotQueue, job: JobContext) -> bool:
    """True when ``job``'s items in ``q`` wait for the job's upstream to finish: the policy
    takes them only once the job is otherwise idle, declined them, and set no timer."""
    run = job._run
    rid = q.routine_id
    if run.user_paused or run.parked or sched.status != "running":
        return False  # paused: the producer waits like any other (a resume lets it on)
    if run.keys.get(rid, KeyState.IDLE) != KeyState.IDLE or (run.wake and rid in run.wake):
        return False
    routine = sched.flow.routines.get(rid)
    return routine is not None and routine.activation_policy.flush_on_idle


def _kind(routine: Routine) -> str:
    """``aggregator``, ``batcher``, ... for built-ins; ``routine`` for the user's own."""
    name = type(routine).__name__
    return "routine" if name in ("Routine", "FunctionRoutine") else name.lower()


def _consumer(sched: Schedule, q: SlotQueue, job: JobContext) -> tuple[str, str]:
    """What the consumer of ``job``'s items in ``q`` waits for, and the remedy that applies."""
    rid, jid = q.routine_id, job.job_id
    routine = sched.flow.routines.get(rid)
    if routine is None:  # removed from the flow while its items waited
        return (f"routine {rid} is no longer in the flow", "Stop the worker and start a new one")
    run = job._run
    n = q.job_count(jid)
    state = run.keys.get(rid, KeyState.IDLE)
    who = f"{_kind(routine)} {rid} of job {jid!r}"
    if sched.status == "paused":
        return (
            "the worker is paused: nothing runs until worker.resume()",
            "Resume the worker, or raise put_timeout with define_slot()",
        )
    if run.user_paused or run.parked:
        where = "at a breakpoint" if run.parked else "by job.pause()"
        return (
            f"job {jid!r} is paused ({where}): {who} holds {n} items until it resumes",
            "Resume the job, or raise put_timeout with define_slot()",
        )
    if state == KeyState.RUNNING:
        return (
            f"{who} is running and has not taken its {n} items: it is too slow or stuck",
            f"Raise max_length or put_timeout with define_slot(), or make {rid} faster",
        )
    if state == KeyState.READY:
        return (
            f"{who} is ready but waits for a thread: all {sched.max_concurrency} drainers of "
            "the worker are busy",
            "Raise max_concurrency or put_timeout",
        )
    policy = routine.activation_policy
    if is_held(sched, q, job):
        return (
            f"{who} holds {n} items waiting for its upstream to finish",
            "Raise max_length with define_slot(), or lower max_active_jobs so that fewer "
            "jobs hold items at once",
        )
    empty = [s for s in routine.slot_specs if sched.queue(rid, s).job_count(jid) == 0]
    also = f"; slots with no items of the job: {', '.join(empty)}" if empty else ""
    said = policy.describe()["description"]
    return (
        f"{who} holds {n} items waiting for its activation policy to fire "
        f"({said[:1].lower()}{said[1:]}){also}",
        "Raise max_length with define_slot(), or feed what the policy waits for",
    )


def explain_full(sched: Schedule, q: SlotQueue, job: JobContext, submitting: bool) -> str:
    """The message of the :class:`~routilux_nb.core.errors.BackpressureTimeout` raised when a
    delivery of ``job`` into ``q`` waited ``put_timeout`` seconds for room."""
    where = f"slot {q.routine_id}.{q.name}"
    timeout = q.slot.put_timeout
    if not submitting:
        cause, remedy = _consumer(sched, q, job)
        own = q.job_count(job.job_id)
        return (
            f"{where} stayed full ({own}/{q.max_length} items) for {timeout} s: job "
            f"{job.job_id!r} holds {own} items there (the bound is per job: other jobs' items "
            f"do not count); {cause}. {remedy}"
        )
    holders = sorted(((len(items), jid) for jid, items in q.by_job.items()), key=lambda h: -h[0])
    head = f"{where} stayed full ({q.count}/{q.max_length} items) for {timeout} s"
    if sched.status == "paused":
        cause, remedy = _consumer(sched, q, job)
        return f"{head}; {cause}. {remedy}"
    named = ", ".join(f"job {jid!r} ({n})" for n, jid in holders[:TOP_HOLDERS])
    more = f" and {len(holders) - TOP_HOLDERS} more jobs" if len(holders) > TOP_HOLDERS else ""
    top = sched.jobs.get(holders[0][1]) if holders else None
    limit = getattr(job.worker, "max_active_jobs", None)
    cause, remedy = _consumer(sched, q, top) if top is not None else ("", "")
    return (
        f"{head} before this new job could put its first item: items held by {named}{more}; "
        f"{cause}. {remedy}; with many jobs at once, lower the worker's max_active_jobs "
        f"(now {limit}) so that the slot can carry the first items of every job it runs"
    )
