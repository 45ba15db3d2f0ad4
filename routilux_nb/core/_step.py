"""One recorded step: a plain-dict record and the :class:`Step` view users read (see
:mod:`routilux_nb.core.steps`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._stepcopy import freeze, thaw
from .clock import iso, now

__all__ = ["STEP_FIELDS", "Step", "new_record"]

#: the fields of a step record (a plain dict: with only numbers, strings and bytes in it, the
#: garbage collector never tracks it, so thousands of kept steps cost it nothing)
STEP_FIELDS = (
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


class Step:
    """One recorded activation (a view of its record). ``inputs`` and ``data`` give a fresh
    copy at each read: edit them freely and pass them to ``job.fork(step, inputs=..., data=...)``.

    Fields: ``step`` (the activation id), ``routine_id``, ``attempt``, ``started_at`` (epoch
    seconds), ``seq`` (of the activation's ``routine_start`` trace record, or None),
    ``duration`` (seconds, None while running), ``status`` (``running``, ``completed``,
    ``failed``; ``parked`` for an activation waiting at a breakpoint), ``error``,
    ``input_items``, ``input_bytes``, ``data_bytes``, ``shared`` (something could not be
    copied and is the routine's own object).
    """

    __slots__ = ("_r",)

    if TYPE_CHECKING:
        step: int
        routine_id: str
        attempt: int
        started_at: float
        seq: int | None
        duration: float | None
        status: str
        error: str | None
        input_items: int
        input_bytes: int
        data_bytes: int
        shared: bool

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
        """A step of frozen ``inputs`` and ``data`` (see :mod:`._stepcopy`; :meth:`of` freezes)."""
        self._r = new_record(
            step,
            routine_id,
            inputs,
            data,
            attempt,
            started_at,
            input_items,
            input_bytes,
            data_bytes,
            shared,
        )

    @classmethod
    def view(cls, record: dict[str, Any]) -> Step:
        """The step of a record (no copy: the view follows the record as the step ends)."""
        step = cls.__new__(cls)
        step._r = record
        return step

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
        status: str = "running",
    ) -> Step:
        """A step recording (copies of) ``inputs`` and ``data``."""
        frozen_in, in_bytes, shared_in = freeze(inputs)
        frozen_data, data_bytes, shared_data = freeze(data)
        items = sum(map(len, inputs.values()))
        at = now() if started_at is None else started_at
        made = cls(
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
        made._r["status"] = status
        return made

    @property
    def inputs(self) -> dict[str, list[Any]]:
        """Slot name -> the items that slot delivered (a fresh copy at each read)."""
        return thaw(self._r["_inputs"])  # type: ignore[no-any-return]

    @property
    def data(self) -> dict[str, Any]:
        """The job's data when the activation started (a fresh copy at each read)."""
        return thaw(self._r["_data"])  # type: ignore[no-any-return]

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

    def to_doc(self) -> dict[str, Any]:
        """Every field, ``started_at`` as epoch seconds (what a store keeps)."""
        doc = {name: self._r[name] for name in STEP_FIELDS}
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
                step._r[name] = doc[name]
        return step

    def __repr__(self) -> str:
        return (
            f"Step(step={self.step}, seq={self.seq}, routine={self.routine_id!r}, "
            f"status={self.status!r}, input_items={self.input_items})"
        )


def _field(name: str) -> property:
    def get(self: Step) -> Any:
        return self._r[name]

    def set(self: Step, value: Any) -> None:
        self._r[name] = value

    return property(get, set, doc=f"the step's {name}")


for _name in STEP_FIELDS:
    setattr(Step, _name, _field(_name))


def new_record(
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
) -> dict[str, Any]:
    """A step record (see :data:`STEP_FIELDS`; ``_inputs``/``_data`` hold the frozen copies)."""
    return {
        "step": step,
        "routine_id": routine_id,
        "_inputs": inputs,
        "_data": data,
        "attempt": attempt,
        "started_at": started_at,
        "seq": None,
        "duration": None,
        "status": "running",
        "error": None,
        "input_items": input_items,
        "input_bytes": input_bytes,
        "data_bytes": data_bytes,
        "shared": shared,
    }
