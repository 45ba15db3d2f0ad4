"""Debug sessions: what a paused job shows, and how it continues.

>>> session = monitor.debug_session(job)      # doctest: +SKIP
>>> session.location()["routine_id"]          # doctest: +SKIP
'double'
>>> session.set_variable("payload.input.0.value", 5); session.step_over()   # doctest: +SKIP
>>> session.set_cell("payload.input.0.df", 3, "alcohol", 13.2)               # doctest: +SKIP

A DataFrame, Series or array in the parked data is shown (``to_dict()["frames"]``) as a
table of its first rows, addressed by the same variable path ``set_variable`` takes; its
cells are edited with :meth:`DebugSession.set_cell`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from routilux_nb.core.display import HtmlRepr
from routilux_nb.core.errors import JobStateError
from routilux_nb.core.payloads import describe, with_cell

from .parked_frames import frame_views, keep_frames

if TYPE_CHECKING:
    from routilux_nb.core.job import JobContext, Parked

__all__ = ["DEBUG_ACTIONS", "DebugSession"]

DEBUG_ACTIONS = ("resume", "step_over", "step_into", "drop")


class DebugSession(HtmlRepr):
    """Debug controls of one job: where it stopped, variables, call stack, actions."""

    def __init__(self, job: JobContext, changed: threading.Condition) -> None:
        self.job = job
        self._changed = changed

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def status(self) -> str:
        return self.job.status

    @property
    def current(self) -> Parked | None:
        parked = self.job.parked
        return parked[0] if parked else None

    @property
    def is_paused(self) -> bool:
        return self.current is not None

    def wait_paused(self, timeout: float = 10.0) -> bool:
        """Block until the job parks at a breakpoint (or finishes); true if parked."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.current is None and not self.job.is_finished:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        return self.current is not None

    def _require(self) -> Parked:
        p = self.current
        if p is None:
            raise JobStateError(
                f"job {self.job_id!r} is {self.job.status} and not stopped at a breakpoint; "
                "there is nothing to inspect or continue"
            )
        return p

    def location(self) -> dict[str, Any] | None:
        """Where the job stopped; for a routine breakpoint with a condition, ``matched`` lists
        the items that made it true (``slot_name``, ``index`` within the slot, ``item``)."""
        p = self.current
        if p is None:
            return None
        out = {"job_id": self.job_id, **p.location()}
        matched = self._matched(p)
        if matched is not None:
            from .trace import summarize

            out["matched"] = [{**m, "item": summarize(m["item"], 2000)} for m in matched]
        return out

    def _matched(self, p: Parked) -> list[dict[str, Any]] | None:
        jm = self.job.monitor
        found = jm.matched.get(id(p.payload)) if jm is not None and jm.matched else None
        return found[1] if found is not None and found[0] is p.payload else None

    def variables(self) -> dict[str, Any]:
        """``payload`` (the parked data: ``{slot: [items]}`` for an activation), ``config``,
        ``job_data``, ``metadata``. Which items made a condition true: ``location()["matched"]``."""
        p = self._require()
        routine = self.job.worker.flow.routines.get(p.routine_id)
        return {
            "payload": p.payload,
            "config": dict(routine.config) if routine is not None else {},
            "job_data": self.job.data,
            "metadata": self.job.metadata,
        }

    def set_variable(self, name: str, value: Any) -> None:
        """Edit the parked data before continuing: ``payload``, ``payload.key.0.sub``, ``job_data.key``."""
        p = self._require()
        head, _, path = name.partition(".")
        if head == "payload":
            if not path:
                if p.is_activation:
                    if not isinstance(value, dict) or not all(
                        isinstance(v, list) for v in value.values()
                    ):
                        raise ValueError(
                            "the payload of a parked activation is {slot: [items]}: give a dict of lists"
                        )
                elif not isinstance(value, dict):
                    raise ValueError("a parked item's payload must be a dict")
                p.payload = keep_frames(value, p.payload)
                return
            _set_path(p.payload, path, keep_frames(value, _get_path(p.payload, path, True)))
        elif head == "job_data":
            if not path:
                if not isinstance(value, dict):
                    raise ValueError("job_data must be a dict")
                value = keep_frames(value, dict(self.job.data))
                self.job.data.clear()
                self.job.data.update(value)
                return
            _set_path(self.job.data, path, keep_frames(value, _get_path(self.job.data, path, True)))
        else:
            raise KeyError(
                f"unknown variable {name!r}; editable: payload, payload.<path>, job_data, job_data.<path>"
            )

    def set_cell(self, name: str, row: int, column: Any, value: Any) -> None:
        """Edit one cell of a DataFrame (or entry of a Series/array) in the parked data.

        ``name`` is the frame's variable path as :meth:`set_variable` takes it
        (``payload.<slot>.<index>.<key>`` for a parked activation, ``payload.<key>`` for a
        parked item, ``job_data.<key>``), ``row`` the row position (0-based, as
        ``to_dict()["frames"]`` lists rows), ``column`` the column label. The frame is
        replaced by an edited copy, so nobody else holding it sees the change; a value the
        column's dtype cannot hold is refused (``ValueError``) and nothing changes.
        """
        p = self._require()
        head, _, path = name.partition(".")
        roots = {"payload": p.payload, "job_data": self.job.data}
        if head not in roots or not path:
            raise KeyError(
                f"unknown frame {name!r}: name it by its path, e.g. payload.input.0.df or "
                "job_data.df (to_dict()['frames'] lists them)"
            )
        frame = _get_path(roots[head], path)
        if describe(frame) is None:
            raise TypeError(f"{name} is a {type(frame).__name__}, not a DataFrame, Series or array")
        _set_path(roots[head], path, with_cell(frame, row, column, value))

    def call_stack(self) -> list[dict[str, Any]]:
        """The hops that produced the parked data, oldest first."""
        p = self._require()
        hops = []
        h = p.hop
        while h is not None:
            hops.append(h)
            h = h[0]
        hops.reverse()
        flow = self.job.worker.flow
        frames = []
        for i, (_, act_id, rid, event) in enumerate(hops):
            target = hops[i + 1][2] if i + 1 < len(hops) else p.routine_id
            slot = next(
                (
                    c.target_slot
                    for c in flow.connections
                    if c.source_routine == rid
                    and c.source_event == event
                    and c.target_routine == target
                ),
                None,
            )
            frames.append(
                {
                    "routine_id": rid,
                    "event_name": event,
                    "target_routine": target,
                    "target_slot": slot,
                    "activation_id": act_id,
                }
            )
        return frames

    def resume(self) -> None:
        """Release everything parked; the job runs on."""
        self._require()
        self.job.worker.parking.release(self.job, "resume")

    def step_over(self) -> None:
        """Run the parked work, then pause at the job's next activation."""
        self._require()
        self.job.worker.parking.step(self.job, "over")

    def step_into(self) -> None:
        """Run the parked work, then pause at the first activation fed by what it emits."""
        self._require()
        self.job.worker.parking.step(self.job, "into")

    def drop(self) -> None:
        """Discard the parked item (recorded in the trace) and let the job continue."""
        p = self._require()
        self.job.worker.parking.drop(self.job, p)

    def act(self, action: str) -> None:
        """Run one of :data:`DEBUG_ACTIONS` by name (used by widgets and the HTTP API)."""
        if action not in DEBUG_ACTIONS:
            raise ValueError(
                f"unknown debug action {action!r}; choose one of {', '.join(DEBUG_ACTIONS)}"
            )
        getattr(self, action)()

    def to_dict(self) -> dict[str, Any]:
        from .trace import summarize

        if self.current is None:
            return {
                "job_id": self.job_id,
                "status": self.job.status,
                "location": None,
                "variables": {},
                "call_stack": [],
                "parked_count": 0,
            }
        try:
            variables = {k: summarize(v, 2000) for k, v in self.variables().items()}
            stack = self.call_stack()
            location = self.location()
        except JobStateError:  # released meanwhile
            return {
                "job_id": self.job_id,
                "status": self.job.status,
                "location": None,
                "variables": {},
                "call_stack": [],
                "parked_count": 0,
            }
        return {
            "job_id": self.job_id,
            "status": self.job.status,
            "location": location,
            "variables": variables,
            "call_stack": stack,
            "parked_count": len(self.job.parked),
            "frames": frame_views(self.variables(), ("payload", "job_data")),
        }

    def __repr__(self) -> str:
        p = self.current
        where = f", at={p.kind}:{p.routine_id}" if p is not None else ""
        return f"DebugSession(job_id={self.job_id!r}, status={self.job.status!r}{where})"


def _get_path(root: Any, path: str, missing_ok: bool = False) -> Any:
    target = root
    for part in path.split("."):
        try:
            target = target[int(part)] if isinstance(target, list) else target[part]
        except (KeyError, IndexError, ValueError, TypeError):
            if missing_ok:
                return None
            raise KeyError(
                f"nothing at {path!r} in the parked data (stopped at {part!r})"
            ) from None
    return target


def _set_path(root: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    target = root
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        raise TypeError(f"cannot set {path!r}: {type(target).__name__} is not a dict or list")
