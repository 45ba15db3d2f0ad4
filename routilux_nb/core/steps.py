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
objects that are not plain data an estimate: ``sys.getsizeof``). The oldest steps go first
(the newest one is always kept); :attr:`StepLog.dropped` counts them and forking one raises
:class:`~routilux_nb.core.errors.StepDropped` naming the cap.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from marshal import dumps as _dumps
from time import time as _time
from typing import TYPE_CHECKING, Any

from ._stepcopy import freeze, thaw
from ._stepframe import STEP_COLUMNS, steps_frame
from .clock import iso, now
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


# -- records --------------------------------------------------------------------------------
class Step:
    """One recorded activation. ``inputs`` and ``data`` give a fresh copy at each read: edit
    them freely and pass them to ``job.fork(step, inputs=..., data=...)``."""

    __slots__ = (
        "_data",
        "_inputs",
        "attempt",
        "data_bytes",
        "duration",
        "error",
        "input_bytes",
        "input_items",
        "routine_id",
        "seq",
        "shared",
        "started_at",
        "status",
        "step",
    )

    def __init__(
        self,
        step: int,
        routine_id: str,
        inputs: Any,
        data: Any,
        attempt: int,
        started_at: float,
        input_items: int,
        input_bytes: int,
        data_bytes: int,
        shared: bool,
    ) -> None:
        #: the activation id
        self.step = step
        self.routine_id = routine_id
        self._inputs = inputs  # frozen (see core._stepcopy)
        self._data = data
        self.attempt = attempt
        self.started_at = started_at
        #: seq of the activation's ``routine_start`` record in the job's trace
        self.seq: int | None = None
        self.duration: float | None = None
        self.status = "running"
        self.error: str | None = None
        self.input_items = input_items
        self.input_bytes = input_bytes
        self.data_bytes = data_bytes
        #: something could not be copied and is the routine's own object
        self.shared = shared

    @classmethod
    def of(
        cls,
        step: int,
        routine_id: str,
        inputs: dict[str, list[Any]],
        data: dict[str, Any],
        *,
        attempt: int = 0,
        started_at: float | None = None,
    ) -> Step:
        """A step recording (copies of) ``inputs`` and ``data``."""
        frozen_in, in_bytes, shared_in = freeze(inputs)
        frozen_data, data_bytes, shared_data = freeze(data)
        items = sum(map(len, inputs.values()))
        at = now() if started_at is None else started_at
        return cls(
            step,
            routine_id,
            frozen_in,
            frozen_data,
            attempt,
            at,
            items,
            in_bytes,
            data_bytes,
            shared_in or shared_data,
        )

    @property
    def inputs(self) -> dict[str, list[Any]]:
        """Slot name -> the items that slot delivered (a fresh copy at each read)."""
        return thaw(self._inputs)  # type: ignore[no-any-return]

    @property
    def data(self) -> dict[str, Any]:
        """The job's data when the activation started (a fresh copy at each read)."""
        return thaw(self._data)  # type: ignore[no-any-return]

    def copy_inputs(self) -> dict[str, list[Any]]:
        """A copy of the inputs (the same as reading ``inputs``)."""
        return self.inputs

    def copy_data(self) -> dict[str, Any]:
        """A copy of the data (the same as reading ``data``)."""
        return self.data

    def to_dict(self, *, payloads: bool = True) -> dict[str, Any]:
        """The step as JSON-shaped data (``started_at`` ISO 8601); ``payloads=False`` leaves
        out ``inputs`` and ``data``. Values are not sanitised here (see ``core.jsonsafe``)."""
        d: dict[str, Any] = {
            "step": self.step,
            "seq": self.seq,
            "routine": self.routine_id,
            "attempt": self.attempt,
            "started_at": iso(self.started_at),
            "duration": self.duration,
            "status": self.status,
            "input_items": self.input_items,
            "input_bytes": self.input_bytes,
            "data_bytes": self.data_bytes,
            "error": self.error,
            "shared": self.shared,
        }
        if payloads:
            d["inputs"] = self.inputs
            d["data"] = self.data
        return d

    _DOC = (
        "step",
        "routine_id",
        "attempt",
        "started_at",
        "seq",
        "duration",
        "status",
        "error",
        "input_items",
        "input_bytes",
        "data_bytes",
        "shared",
    )

    def to_doc(self) -> dict[str, Any]:
        """Every field, ``started_at`` as epoch seconds (what a store keeps)."""
        doc = {name: getattr(self, name) for name in Step._DOC}
        doc["inputs"], doc["data"] = self.inputs, self.data
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Step:
        """The step :meth:`to_doc` wrote."""
        step = cls.of(
            int(doc["step"]),
            str(doc["routine_id"]),
            dict(doc.get("inputs") or {}),
            dict(doc.get("data") or {}),
            attempt=int(doc.get("attempt") or 0),
            started_at=float(doc["started_at"]),
        )
        for name in ("seq", "duration", "status", "error", "input_bytes", "data_bytes", "shared"):
            if doc.get(name) is not None:
                setattr(step, name, doc[name])
        return step

    def __repr__(self) -> str:
        return (
            f"Step(step={self.step}, seq={self.seq}, routine={self.routine_id!r}, "
            f"status={self.status!r}, input_items={self.input_items})"
        )


class StepLog:
    """The recorded steps of one job, oldest first, within :class:`StepLimits`.

    The engine calls :meth:`begin` when an activation starts (after any breakpoint let it go)
    and :meth:`end` when its logic returned or raised; everything else reads.
    """

    #: estimated bytes held (an estimate: concurrent activations may race on it)
    bytes = 0
    #: steps dropped past the cap, and their bytes
    dropped = 0
    dropped_bytes = 0
    #: the highest activation id and seq dropped (what tells "dropped" from "unknown")
    dropped_step: int | None = None
    dropped_seq: int | None = None

    def __init__(self, limits: StepLimits, steps: list[Step] | None = None) -> None:
        # one per job, made with the job: only what differs from the class defaults is set
        self.limits = limits
        self._steps: deque[Step] = deque()
        if steps:
            self._steps.extend(steps)
            self.bytes = sum(s.input_bytes + s.data_bytes for s in steps)

    # -- recording (engine) ------------------------------------------------------------------
    def begin(self, act: ActivationContext) -> Step:
        """Record the activation starting now: copies of its inputs and of the job's data.

        Plain data is frozen with one ``marshal`` call each (see :mod:`._stepcopy`). Lock-free
        on the way in (a deque append is atomic); trimming past the cap takes the module's
        lock, and only then.
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
        step = Step(
            act.act_id,
            act.routine.routine_id,
            frozen_in,
            frozen_data,
            act.attempt,
            _time(),
            sum(map(len, inputs.values())),
            in_bytes,
            data_bytes,
            shared,
        )
        steps = self._steps
        limits = self.limits
        if len(steps) >= limits.max_steps:  # at the cap: one out for this one in
            try:
                self._drop(steps.popleft())
            except IndexError:  # emptied meanwhile by another thread's trim
                pass
        steps.append(step)
        size = self.bytes = self.bytes + in_bytes + data_bytes
        if size > limits.max_bytes or len(steps) > limits.max_steps:
            self._trim(steps, limits)
        return step

    def _drop(self, old: Step) -> None:
        size = old.input_bytes + old.data_bytes
        self.bytes -= size
        self.dropped += 1
        self.dropped_bytes += size
        top = self.dropped_step
        if top is None or old.step > top:
            self.dropped_step = old.step
        seq = old.seq
        if seq is not None:
            top = self.dropped_seq
            if top is None or seq > top:
                self.dropped_seq = seq

    def _trim(self, steps: deque[Step], limits: StepLimits) -> None:
        """Drop the oldest steps past the cap (the newest stays)."""
        with _lock:
            while len(steps) > 1 and (
                len(steps) > limits.max_steps or self.bytes > limits.max_bytes
            ):
                self._drop(steps.popleft())

    @staticmethod
    def end(step: Step, job: JobContext, duration: float, error: BaseException | None) -> None:
        """The activation's logic returned (``error`` None) or raised; called after the
        monitor wrote the activation, so its trace ``seq`` is known."""
        step.duration = duration
        if error is None:
            step.status = "completed"
        else:
            step.status = "failed"
            step.error = f"{type(error).__name__}: {error}"
        mon = job.monitor
        if mon is not None:
            last_start_seq = getattr(getattr(mon, "trace", None), "last_start_seq", None)
            if last_start_seq is not None:
                step.seq = last_start_seq(step.routine_id)

    # -- reading -----------------------------------------------------------------------------
    def list(self) -> list[Step]:
        """The steps kept, oldest first."""
        return list(self._steps)  # one C-level copy: atomic under the GIL

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
