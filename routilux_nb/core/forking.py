"""Forking a job: a new job that starts at one recorded step of another.

``job.fork(step)`` delivers the step's recorded items (or ``inputs=``) to that step's routine
in a new job whose ``data`` is the step's recorded data (or ``data=``); the routines before
the step do not run again. The new job runs the flow's *current* code: redefining a routine
(re-running its ``@flow.routine`` cell) and forking from the step that failed is the loop
this is for. The new job's ``metadata`` has ``forked_from`` (the job id), ``forked_step``
(the activation id) and ``forked_seq`` (its trace seq, or ``None``). ``job.retry()`` is the
special case "fork from the failed step, with the job's data as it is now".

Steps are named by their activation id (``job.fork(17)``, the ``step`` column of
``job.steps``), by a row of that frame or a :class:`~.steps.Step`, or by any trace ``seq`` of
the activation (``job.fork(seq=42)``: the ``seq`` column of ``job.trace.to_pandas()``). An
activation parked at a breakpoint (``job.parked[i].act_id``) has not run yet, so it is not
recorded, but it can be forked from too (status ``"parked"``): with its items and the job's
data as they are now, even without recording.

The items are delivered to the routine's slots as a job's first items are; its activation
policy takes them (with the default ``immediate`` policy: one activation with all of them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._stepcopy import snapshot
from .errors import FlowNotFound, JobStateError, RoutiluxError, StepNotFound
from .steps import Step, StepLog

if TYPE_CHECKING:
    from .compare import Comparison
    from .flow import Flow
    from .job import JobContext
    from .routine import Routine
    from .runtime import Runtime
    from .worker import Worker

__all__ = [
    "Forkable",
    "InvalidStepInputs",
    "StepsNotRecorded",
    "fork_job",
    "resolve_step",
    "step_id_of",
]

#: metadata keys of a job's own lineage, not inherited by its forks
_LINEAGE = ("forked_from", "forked_step", "forked_seq", "retry_of")


class StepsNotRecorded(JobStateError):
    """The job has no recorded steps (its runtime records none): the HTTP API answers 409."""


class InvalidStepInputs(RoutiluxError, ValueError):
    """``inputs=``/``data=`` given to a fork cannot be delivered (the HTTP API answers 422)."""


def step_id_of(step: Any) -> int | None:
    """The activation id in ``step``: an int, a :class:`Step`, or a mapping/row with ``step``."""
    if step is None:
        return None
    if isinstance(step, Step):
        return step.step
    if isinstance(step, bool):
        raise TypeError("a step is an activation id (int), not a bool")
    if isinstance(step, int):
        return step
    getter = getattr(step, "get", None)  # a dict, or a row of job.steps (pandas Series)
    if getter is not None and getter("step") is not None:
        return int(getter("step"))
    try:
        return int(step)  # numpy integers
    except (TypeError, ValueError):
        raise TypeError(
            "name a step by its activation id (an int from the step column of job.steps), "
            f"a row of job.steps or a Step; got {type(step).__name__}"
        ) from None


def resolve_step(job: Any, log: StepLog | None, step: Any = None, seq: int | None = None) -> Step:
    """The recorded :class:`Step` of ``job`` named by ``step`` or ``seq`` (see module doc).

    With neither, a failed job's failed step. Raises ``StepNotFound`` (a ``KeyError``; also
    when neither is given and the job did not fail), ``StepDropped`` (a ``StateError``), or
    ``StepsNotRecorded`` (a ``JobStateError``) when the job recorded no steps.
    """
    jid = job.job_id
    sid = step_id_of(step)
    if sid is not None and (log is None or not any(s.step == sid for s in log.list())):
        parked = _parked_step(job, sid)
        if parked is not None:
            return parked
    if log is None:
        raise StepsNotRecorded(
            f"job {jid!r} has no recorded steps: its runtime records none (create it with "
            "Runtime(record_steps=True); rx.runtime() records them)"
        )
    if sid is None and seq is None:
        failed = _failed_step(job, log)
        if failed is None and job.status == "failed" and log.dropped:
            raise log.dropped_error(jid, "the step that failed")
        if failed is None:
            raise StepNotFound(
                f"say which step of job {jid!r} to fork from: job.fork(step) with an activation "
                f"id from the step column of job.steps, or job.fork(seq=...); {log.describe_kept()}"
            )
        return failed
    if sid is not None:
        return log.find(jid, step=sid)
    assert seq is not None
    try:
        return log.find(jid, seq=seq)
    except StepNotFound:
        found = _by_trace_seq(job, log, seq)
        if found is None:
            raise
        return found


def _parked_step(job: Any, act_id: int) -> Step | None:
    """An activation waiting at a breakpoint, as a step (it has not run, so it is not
    recorded yet): its items and the job's data as they are now. The debugger forks from it."""
    for p in list(getattr(job, "parked", ()) or ()):
        if p.act_id == act_id and p.is_activation and isinstance(p.payload, Mapping):
            payload = dict(p.payload)
            return Step.of(
                act_id, p.routine_id, payload, job.data, attempt=p.attempt, status="parked"
            )
    return None


def _failed_step(job: Any, log: StepLog) -> Step | None:
    if job.status != "failed":
        return None
    run = getattr(job, "_run", None)
    failed = getattr(run, "failed_step", None)
    if failed is not None:
        return log.newest_failed(failed[0])
    for s in reversed(log.list()):
        if s.status == "failed":
            return s
    return None


def _by_trace_seq(job: Any, log: StepLog, seq: int) -> Step | None:
    """The step whose activation wrote the trace record ``seq`` (any of its records)."""
    trace = getattr(getattr(job, "monitor", None), "trace", None)
    if trace is None:
        return None
    record = next((r for r in trace.records(since=seq - 1) if r.seq == seq), None)
    if record is None or record.routine_id is None:
        return None
    mine = [s for s in log.list() if s.routine_id == record.routine_id and s.seq is not None]
    if record.event_type == "slot_call":  # slot_calls come right before their routine_start
        later = [s for s in mine if s.seq is not None and s.seq > seq]
        return min(later, key=lambda s: s.seq or 0) if later else None
    earlier = [s for s in mine if s.seq is not None and s.seq <= seq]
    return max(earlier, key=lambda s: s.seq or 0) if earlier else None


def check_inputs(routine: Routine, inputs: Any) -> dict[str, list[dict[str, Any]]]:
    """``inputs`` as ``{slot: [item, ...]}`` copies, or :class:`InvalidStepInputs` saying why."""
    rid = routine.routine_id
    slots = list(routine.slot_specs)
    if not isinstance(inputs, Mapping):
        raise InvalidStepInputs(
            f"inputs must map slot names of routine {rid!r} ({slots}) to lists of items "
            f"(dicts), got {type(inputs).__name__}"
        )
    out: dict[str, list[dict[str, Any]]] = {}
    for slot, items in inputs.items():
        if slot not in routine.slot_specs:
            raise InvalidStepInputs(f"routine {rid!r} has no slot {slot!r}; its slots: {slots}")
        if isinstance(items, Mapping):
            items = [items]
        if not isinstance(items, (list, tuple)):
            raise InvalidStepInputs(
                f"inputs[{slot!r}] must be a list of items (dicts), got {type(items).__name__}"
            )
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise InvalidStepInputs(
                    f"inputs[{slot!r}][{i}] must be an item (dict), got {type(item).__name__}"
                )
        out[slot] = snapshot([dict(item) for item in items])[0]
    if not any(out.values()):
        raise InvalidStepInputs(
            f"no items to deliver to routine {rid!r}: a fork starts by delivering at least one "
            f"item to one of its slots {slots}"
        )
    return out


def _worker(runtime: Runtime, job: Any) -> Worker:
    """The worker that runs the job's flow as it is now: the job's own, if it still runs the
    flow registered under that id, else that flow's running worker (started if none)."""
    flow = runtime.flows.get(job.flow_id)
    live = getattr(job, "_worker", None)
    if live is not None and live.status != "stopped" and (flow is None or live.flow is flow):
        return live  # type: ignore[no-any-return]
    if flow is None:
        raise FlowNotFound(
            f"job {job.job_id!r} ran flow {job.flow_id!r}, which this runtime does not know; "
            "register it first (runtime.register_flow(flow) or load its DSL)"
        )
    return runtime.worker_for(flow)


def fork_job(
    runtime: Runtime,
    job: Any,
    step: Step,
    *,
    inputs: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    job_id: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    worker: Worker | None = None,
    flow: Flow | str | None = None,
) -> JobContext:
    """Start the new job (see module docstring) on ``worker``, else on a running worker of
    ``flow`` (a flow object is registered as the current version of its id), else on
    :func:`_worker`'s choice."""
    if worker is None:
        worker = runtime.worker_for(flow) if flow is not None else _worker(runtime, job)
    routine = worker.flow.get_routine(step.routine_id)  # UnknownRoutineError if it went away
    items = check_inputs(routine, step.inputs if inputs is None else inputs)
    if data is None:
        new_data = step.copy_data()
    elif isinstance(data, Mapping):
        new_data = snapshot(dict(data))[0]
    else:
        raise InvalidStepInputs(f"data must be a dict (the job's data), got {type(data).__name__}")
    inherited = {
        k: v
        for k, v in (job.metadata or {}).items()
        if k not in _LINEAGE and not str(k).startswith("otel.")
    }
    meta = {
        **inherited,
        **(metadata or {}),
        "forked_from": job.job_id,
        "forked_step": step.step,
        "forked_seq": step.seq,
    }
    entry = tuple(job.entry) if job.entry else None
    entry_data = getattr(job, "entry_data", None)
    sub = worker._submission
    timeout = getattr(job, "timeout", None)
    new = sub.new_job(job_id, meta, timeout, new_data, entry, entry_data)
    deliveries = [(routine.routine_id, slot, item) for slot, got in items.items() for item in got]
    sub.start([(new, deliveries)], generated=job_id is None)
    return new


class Forkable:
    """``steps``, ``step``, ``fork``, ``compare`` and ``retry`` of a live job (mixed into
    :class:`~routilux_nb.core.job.JobContext`)."""

    __slots__ = ()

    if TYPE_CHECKING:
        job_id: str
        status: str
        data: dict[str, Any]

        @property
        def worker(self) -> Worker: ...

    @property
    def step_log(self) -> StepLog | None:
        """The job's :class:`~.steps.StepLog`, or ``None`` when its runtime records no steps."""
        return self._run.steps  # type: ignore[attr-defined,no-any-return]

    @property
    def steps(self) -> Any:
        """The recorded steps as a DataFrame with :data:`~.steps.STEP_COLUMNS`: ``step``
        (activation id), ``seq``, ``routine``, ``attempt``, ``started_at``, ``duration``,
        ``status``, ``input_items``, ``input_bytes``, ``data_bytes``, ``error``.
        ``frame.attrs["dropped"]`` counts steps dropped past the cap (``max_steps``,
        ``max_bytes`` there too). Raises ``StepsNotRecorded`` (a ``JobStateError``) when the
        runtime records no steps."""
        log = self.step_log
        if log is None:
            resolve_step(self, None)  # raises, saying how to turn recording on
        assert log is not None
        return log.frame(self.job_id)

    def step(self, step: Any = None, *, seq: int | None = None) -> Step:
        """The recorded :class:`~.steps.Step` (``.inputs``, ``.data``: fresh copies to edit)
        named by activation id or trace ``seq``; with neither, a failed job's failed step.
        Raises ``StepNotFound`` (a ``KeyError``), ``StepDropped`` or ``StepsNotRecorded``."""
        return resolve_step(self, self.step_log, step, seq)

    def fork(
        self,
        step: Any = None,
        *,
        seq: int | None = None,
        inputs: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        job_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        flow: Flow | str | None = None,
    ) -> JobContext:
        """A new job starting at ``step`` of this one (see :mod:`routilux_nb.core.forking`).

        Args:
            step: activation id (``job.steps["step"]``), a row of ``job.steps`` or a Step;
                with neither ``step`` nor ``seq``, the step that failed this job.
            seq: any trace seq of the step's activation, instead of ``step``.
            inputs: ``{slot: [item, ...]}`` to deliver instead of the recorded items.
            data: the new job's data instead of the recorded one (replaces it whole).
            job_id, metadata: as for ``worker.submit``.
            flow: run this flow instead of the one registered under the job's ``flow_id``
                (e.g. a re-created ``Flow`` object whose cell was re-run; it is registered).

        Returns the new job (already submitted). Raises ``StepNotFound`` / ``StepDropped`` /
        ``StepsNotRecorded``, ``InvalidStepInputs`` (a ``ValueError``), ``UnknownRoutineError``
        when the step's routine is no longer in the flow.
        """
        found = resolve_step(self, self.step_log, step, seq)
        runtime = self.worker.runtime
        return fork_job(
            runtime,
            self,
            found,
            inputs=inputs,
            data=data,
            job_id=job_id,
            metadata=metadata,
            flow=flow,
        )

    def compare(self, other: Any) -> Comparison:
        """What differs between this job and ``other``, live or stored: a
        :class:`~routilux_nb.core.compare.Comparison` (``.to_pandas()``, ``.identical``)."""
        from .compare import compare

        return compare(self, other)

    def retry(self, *, job_id: str | None = None) -> JobContext:
        """A new job retrying this failed or cancelled one.

        A job that failed in a routine is forked from that step with the job's data *as it is
        now* (edit ``job.data`` first to change it) and ``retry_of`` in its metadata; without
        recorded steps, or for a cancelled job, see ``Worker.retry``.
        """
        worker = self.worker
        log = self.step_log
        if self.status == "failed" and log is not None:
            failed = _failed_step(self, log)
            if failed is not None:
                worker._require_alive("retry a job on")
                return fork_job(
                    worker.runtime,
                    self,
                    failed,
                    data=self.data,
                    job_id=job_id,
                    metadata={"retry_of": self.job_id},
                    worker=worker,
                )
        return worker.retry(self, job_id=job_id)  # type: ignore[arg-type]
