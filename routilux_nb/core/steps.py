"""Recorded steps: what each activation of a job started with, so the job can be forked there.

With recording on (``Runtime(record_steps=True)``; the notebook's ``rx.runtime()`` has it on,
a plain ``Runtime()`` off), every activation of a job leaves a :class:`Step`: its routine, the
items each slot delivered, the job's ``data`` as it was when the activation started, its
activation id and the ``seq`` of its ``routine_start`` record in the job's trace, when it
started, how long it ran and how it ended. ``job.steps`` lists them as a DataFrame
(:data:`STEP_COLUMNS`); ``job.fork(step)`` starts a new job there (see :mod:`.forking`).

Copies are taken when the activation starts, before the routine can change anything. Plain
data (dicts, lists, tuples, sets, str, bytes, numbers, bools, ``None``) is frozen as
``marshal`` bytes: one C-level call, an exact size, nothing for the garbage collector to walk.
Anything else (a DataFrame, an object) goes through ``copy.deepcopy``; what cannot be
deep-copied is kept by reference, and the step says so (``shared``). ``step.inputs`` and
``step.data`` give a fresh copy at each read (see :mod:`._stepcopy`).

Bounds, per job: at most ``max_steps`` steps and ``max_bytes`` bytes (the frozen size; for
objects that are not plain data an estimate: ``sys.getsizeof``). The oldest steps go first,
and a step that alone exceeds ``max_bytes`` is not kept at all; :attr:`StepLog.dropped`
counts them and forking one raises :class:`~routilux_nb.core.errors.StepDropped` naming the
cap. (The copy is still made, before its size is known: turn recording off for jobs whose
data is very large.)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from marshal import dumps as _dumps
from time import time as _time
from typing import TYPE_CHECKING, Any

from ._step import Step
from ._stepcopy import freeze
from ._stepframe import STEP_COLUMNS, steps_frame
from .errors import StepDropped, StepNotFound

if TYPE_CHECKING:
    from .context import ActivationContext
    from .job import JobContext

__all__ = [
    "STEP_COLUMNS",
    "STEP_STATUSES",
    "Step",
    "StepLimits",
    "StepLog",
    "step_limits",
    "steps_frame",
]

STEP_STATUSES = ("running", "completed", "failed")

_lock = threading.Lock()  # guards every StepLog's deque and counters; held only briefly


@dataclass(frozen=True)
class StepLimits:
    """How much of each job's steps a runtime keeps: ``Runtime(record_steps=StepLimits(...))``."""

    #: steps kept per job (oldest dropped first)
    max_steps: int = 1000
    #: estimated bytes of inputs and data kept per job
    max_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.max_bytes < 1:
            raise ValueError(
                f"StepLimits needs max_steps >= 1 and max_bytes >= 1, got max_steps="
                f"{self.max_steps}, max_bytes={self.max_bytes}; use record_steps=False to "
                "record nothing"
            )


def step_limits(value: Any) -> StepLimits | None:
    """``record_steps=`` as limits: ``False``/``None`` off, ``True`` the defaults, an int
    ``max_steps``, a mapping or :class:`StepLimits` the given ones."""
    if value is None or value is False:
        return None
    if value is True:
        return StepLimits()
    if isinstance(value, StepLimits):
        return value
    if isinstance(value, int):
        return StepLimits(max_steps=value)
    if isinstance(value, Mapping):
        return StepLimits(**value)
    raise TypeError(
        "record_steps must be True, False, an int (max steps per job), a dict or "
        f"StepLimits(max_steps=..., max_bytes=...); got {type(value).__name__}"
    )


class StepLog:
    """The recorded steps of one job, oldest first, within :class:`StepLimits`.

    The engine calls :meth:`begin` when an activation starts (after any breakpoint let it go)
    and :meth:`end` when its logic returned or raised; everything else reads.
    """

    __slots__ = (
        "_steps",
        "bytes",
        "dropped",
        "dropped_bytes",
        "dropped_seq",
        "dropped_step",
        "limits",
    )

    def __init__(self, limits: StepLimits, steps: list[Step] | None = None) -> None:
        self.limits = limits
        #: the step records, oldest first (see :func:`new_record`)
        self._steps: deque[dict[str, Any]] = deque(s._r for s in steps) if steps else deque()
        #: bytes held (an estimate: concurrent activations of the job may race on it)
        self.bytes = sum(s.input_bytes + s.data_bytes for s in steps) if steps else 0
        #: steps dropped past the cap, and their bytes
        self.dropped = 0
        self.dropped_bytes = 0
        #: the highest activation id and seq dropped (what tells "dropped" from "unknown")
        self.dropped_step: int | None = None
        self.dropped_seq: int | None = None

    # -- recording (engine) ------------------------------------------------------------------
    def begin(self, act: ActivationContext) -> dict[str, Any]:
        """Record the activation starting now: copies of its inputs and of the job's data.
        Returns its record, for :meth:`end`.

        Plain data is frozen with one ``marshal`` call each (see :mod:`._stepcopy`). Lock-free
        (a deque append is atomic; at the cap one step goes out for each one in); only the
        bytes cap takes the module's lock.
        """
        inputs = act.inputs
        shared = False
        try:
            frozen_in: Any = _dumps(inputs)
            in_bytes = len(frozen_in)
        except (ValueError, TypeError, RecursionError):
            frozen_in, in_bytes, shared = freeze(inputs)
        data = act.job.data
        try:
            frozen_data: Any = _dumps(data)
            data_bytes = len(frozen_data)
        except (ValueError, TypeError, RecursionError):
            frozen_data, data_bytes, shared_data = freeze(data)
            shared = shared or shared_data
        record = {  # the fields of new_record, inline: this runs once per activation
            "step": act.act_id,
            "routine_id": act.routine.routine_id,
            "_inputs": frozen_in,
            "_data": frozen_data,
            "attempt": act.attempt,
            "started_at": _time(),
            "seq": None,
            "duration": None,
            "status": "running",
            "error": None,
            "input_items": sum(map(len, inputs.values())),
            "input_bytes": in_bytes,
            "data_bytes": data_bytes,
            "shared": shared,
        }
        steps = self._steps
        limits = self.limits
        if in_bytes + data_bytes > limits.max_bytes:  # alone past the bytes cap: not kept
            self.bytes += in_bytes + data_bytes
            self._drop(record)
            return record
        if len(steps) >= limits.max_steps:  # at the cap: one out for this one in
            try:
                self._drop(steps.popleft())
            except IndexError:  # emptied meanwhile by another thread's trim
                pass
        steps.append(record)
        size = self.bytes = self.bytes + in_bytes + data_bytes
        if size > limits.max_bytes or len(steps) > limits.max_steps:
            self._trim(steps, limits)
        return record

    def _drop(self, old: dict[str, Any]) -> None:
        size = old["input_bytes"] + old["data_bytes"]
        self.bytes -= size
        self.dropped += 1
        self.dropped_bytes += size
        top = self.dropped_step
        if top is None or old["step"] > top:
            self.dropped_step = old["step"]
        seq = old["seq"]
        if seq is not None:
            top = self.dropped_seq
            if top is None or seq > top:
                self.dropped_seq = seq

    def _trim(self, steps: deque[dict[str, Any]], limits: StepLimits) -> None:
        """Drop the oldest steps past the cap."""
        with _lock:
            while steps and (len(steps) > limits.max_steps or self.bytes > limits.max_bytes):
                self._drop(steps.popleft())

    @staticmethod
    def end(
        record: dict[str, Any], job: JobContext, duration: float, error: BaseException | None
    ) -> None:
        """The activation's logic returned (``error`` None) or raised; called after the
        monitor wrote the activation, so its trace ``seq`` is known."""
        record["duration"] = duration
        if error is None:
            record["status"] = "completed"
        else:
            record["status"] = "failed"
            record["error"] = f"{type(error).__name__}: {error}"
        mon = job.monitor
        if mon is not None:
            last_start_seq = getattr(getattr(mon, "trace", None), "last_start_seq", None)
            if last_start_seq is not None:
                record["seq"] = last_start_seq(record["routine_id"])

    # -- reading -----------------------------------------------------------------------------
    def list(self) -> list[Step]:
        """The steps kept, oldest first."""
        view = Step.view
        return [view(r) for r in list(self._steps)]  # one C-level copy: atomic under the GIL

    def __len__(self) -> int:
        return len(self._steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.list())

    def find(self, job_id: str, step: int | None = None, seq: int | None = None) -> Step:
        """The step with activation id ``step`` (or whose ``routine_start`` has ``seq``).

        Raises :class:`StepDropped` for a step dropped past the cap, :class:`StepNotFound`
        (naming the steps kept) for anything else.
        """
        steps = self.list()
        for s in steps:
            if (s.step == step) if step is not None else (s.seq == seq):
                return s
        what = f"step {step}" if step is not None else f"a step with trace seq {seq}"
        dropped_max = self.dropped_step if step is not None else self.dropped_seq
        value = step if step is not None else seq
        if self.dropped and dropped_max is not None and value is not None and value <= dropped_max:
            raise self.dropped_error(job_id, what)
        raise StepNotFound(f"job {job_id!r} has no {what}; {self.describe_kept()}")

    def dropped_error(self, job_id: str, what: str) -> StepDropped:
        lim = self.limits
        return StepDropped(
            f"{what} of job {job_id!r} was dropped: the job recorded more than the cap of "
            f"max_steps={lim.max_steps}, max_bytes={lim.max_bytes} and the oldest "
            f"{self.dropped} steps were dropped; {self.describe_kept()}. To fork from it, "
            "raise the cap, e.g. Runtime(record_steps=StepLimits(max_steps=..., max_bytes=...)), "
            "and run the job again"
        )

    def describe_kept(self) -> str:
        steps = self.list()
        if not steps:
            return "no steps are kept"
        ids = [s.step for s in steps]
        seqs = [s.seq for s in steps if s.seq is not None]
        text = f"the {len(steps)} steps kept have activation ids {min(ids)}..{max(ids)}"
        if seqs:
            text += f" and trace seqs {min(seqs)}..{max(seqs)}"
        return text + " (see job.steps)"

    def newest_failed(self, routine_id: str) -> Step | None:
        """The newest failed step of ``routine_id`` (the one that failed the job, for retry)."""
        for s in reversed(self.list()):
            if s.routine_id == routine_id and s.status == "failed":
                return s
        return None

    def frame(self, job_id: str) -> Any:
        """The steps as a DataFrame with :data:`STEP_COLUMNS` (see :func:`steps_frame`)."""
        return steps_frame(
            self.list(),
            job_id=job_id,
            dropped=self.dropped,
            dropped_bytes=self.dropped_bytes,
            limits=self.limits,
        )

    def __repr__(self) -> str:
        return f"StepLog(steps={len(self._steps)}, bytes={self.bytes}, dropped={self.dropped})"
