"""Breakpoints: where a job's work is parked so a person can look at it.

======================  =====================================================================
type                    fires
======================  =====================================================================
``routine``             before a routine's logic runs (the whole activation is parked)
``slot``                when an item arrives in a slot (the item is parked before queueing)
``event``               when a routine emits an event (the emitted payload is parked)
``connection``          when an item travels one connection
======================  =====================================================================

A breakpoint applies to one job (``job_id``), to every job of a worker (``worker_id``) or
of a flow (``flow_id``), or to every job. Conditions are Python callables or strings run by
the safe evaluator (:mod:`routilux_nb.core.expressions`); the names they see are the
payload's keys plus ``data`` (the item), ``items``, ``routine_id``, ``slot_name``,
``event_name``, ``job_id``, ``metadata`` and ``job_data``.
"""

from __future__ import annotations

import builtins
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from routilux_nb.core.clock import iso, now
from routilux_nb.core.display import HtmlRepr
from routilux_nb.core.expressions import Condition, ExpressionError, compile_condition

__all__ = ["BREAKPOINT_TYPES", "Breakpoint", "BreakpointManager"]

BREAKPOINT_TYPES = ("routine", "slot", "event", "connection")
_ids = itertools.count(1)


@dataclass(eq=False)
class Breakpoint(HtmlRepr):
    """The spec's fields plus scope (``worker_id``, ``flow_id``) and the connection target."""

    type: str
    routine_id: str | None = None
    slot_name: str | None = None
    event_name: str | None = None
    target_routine: str | None = None
    condition: str | Callable[..., Any] | None = None
    enabled: bool = True
    job_id: str | None = None
    worker_id: str | None = None
    flow_id: str | None = None
    breakpoint_id: str = field(default_factory=lambda: f"bp-{next(_ids)}")
    hit_count: int = 0
    condition_errors: int = 0
    last_condition_error: str | None = None
    created_at: float = field(default_factory=now)
    updated_at: float = field(default_factory=now)
    _compiled: Condition | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.type not in BREAKPOINT_TYPES:
            raise ValueError(
                f"unknown breakpoint type {self.type!r}; choose one of {', '.join(BREAKPOINT_TYPES)}"
            )
        needs = {
            "routine": ("routine_id",),
            "slot": ("routine_id", "slot_name"),
            "event": ("routine_id", "event_name"),
        }.get(self.type, ())
        missing = [n for n in needs if not getattr(self, n)]
        if missing:
            raise ValueError(f"a {self.type} breakpoint needs {' and '.join(missing)}")
        if self.type == "connection" and not any(
            (self.routine_id, self.event_name, self.target_routine, self.slot_name)
        ):
            raise ValueError(
                "a connection breakpoint needs routine_id/event_name (source) or "
                "target_routine/slot_name (target)"
            )
        if self.condition is not None:
            if isinstance(self.condition, str) and not self.condition.strip():
                self.condition = None
            else:
                self._compiled = compile_condition(
                    self.condition
                )  # ExpressionError is a ValueError

    def __repr__(self) -> str:
        where = self.slot_name or self.event_name or self.target_routine
        cond = self.to_dict()["condition"]
        return (
            f"Breakpoint(breakpoint_id={self.breakpoint_id!r}, type={self.type!r}, "
            f"routine_id={self.routine_id!r}"
            + (f", at={where!r}" if where else "")
            + (f", condition={cond!r}" if cond else "")
            + f", enabled={self.enabled}, hit_count={self.hit_count})"
        )

    def applies_to(self, job: Any) -> bool:
        return (
            (self.job_id is None or self.job_id == job.job_id)
            and (self.worker_id is None or self.worker_id == job.worker_id)
            and (self.flow_id is None or self.flow_id == job.flow_id)
        )

    def matches(
        self, kind: str, job: Any, routine_id: str, name: str | None, connection: Any
    ) -> bool:
        if kind != self.type or not self.applies_to(job):
            return False
        if kind == "routine":
            return routine_id == self.routine_id
        if kind == "slot":
            return routine_id == self.routine_id and name == self.slot_name
        if kind == "event":
            return routine_id == self.routine_id and name == self.event_name
        if connection is None:
            return False
        return (
            (self.routine_id is None or connection.source_routine == self.routine_id)
            and (self.event_name is None or connection.source_event == self.event_name)
            and (self.target_routine is None or connection.target_routine == self.target_routine)
            and (self.slot_name is None or connection.target_slot == self.slot_name)
        )

    @property
    def has_condition(self) -> bool:
        """True when a condition decides whether a hit stops (see :meth:`matching`)."""
        return self._compiled is not None

    def condition_holds(self, candidates: list[dict[str, Any]]) -> bool:
        return bool(self.matching(candidates))

    def matching(self, candidates: list[dict[str, Any]]) -> list[int]:
        """Positions of the candidates (items) for which the condition is true."""
        if self._compiled is None:
            return list(range(len(candidates)))
        try:
            return [i for i, names in enumerate(candidates) if self._compiled(**names)]
        except ExpressionError as exc:
            self.condition_errors += 1
            self.last_condition_error = str(exc)
            return []
        except Exception as exc:  # a Python callable raising is a condition error, not a crash
            self.condition_errors += 1
            self.last_condition_error = f"{type(exc).__name__}: {exc}"
            return []

    def to_dict(self) -> dict[str, Any]:
        cond = self.condition
        return {
            "breakpoint_id": self.breakpoint_id,
            "job_id": self.job_id,
            "worker_id": self.worker_id,
            "flow_id": self.flow_id,
            "type": self.type,
            "routine_id": self.routine_id,
            "slot_name": self.slot_name,
            "event_name": self.event_name,
            "target_routine": self.target_routine,
            "condition": cond
            if cond is None or isinstance(cond, str)
            else f"<callable {getattr(cond, '__name__', 'condition')}>",
            "enabled": self.enabled,
            "hit_count": self.hit_count,
            "condition_errors": self.condition_errors,
            "last_condition_error": self.last_condition_error,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def _names(
    kind: str, job: Any, routine_id: str, name: str | None, payload: Any
) -> list[dict[str, Any]]:
    """Condition names, once per item (a routine breakpoint hits if any item satisfies it)."""
    if kind == "routine":
        pairs = (
            [(slot, i) for slot, lst in payload.items() for i in lst]
            if isinstance(payload, dict)
            else []
        )
        items = [i for _, i in pairs]
        pairs = pairs or [(None, {})]
    else:
        items = [payload]
        pairs = [(name if kind in ("slot", "connection") else None, payload)]
    out = []
    for slot, data in pairs:
        names: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        names.update(
            data=data,
            item=data,
            items=items,
            routine_id=routine_id,
            slot_name=slot,
            event_name=name if kind == "event" else None,
            job_id=job.job_id,
            metadata=job.metadata,
            job_data=job.data,
        )
        out.append(names)
    return out


class BreakpointManager:
    """Holds breakpoints; ``armed`` is true while any is enabled."""

    def __init__(self, on_change: Callable[[bool], None] | None = None) -> None:
        self._bps: dict[str, Breakpoint] = {}
        self._lock = threading.Lock()
        self._on_change = on_change
        self.armed = False

    def _rearm(self) -> None:
        self.armed = any(bp.enabled for bp in self._bps.values())
        if self._on_change is not None:
            self._on_change(self.armed)

    def add(self, bp: Breakpoint) -> Breakpoint:
        with self._lock:
            self._bps[bp.breakpoint_id] = bp
            self._rearm()
        return bp

    def remove(self, breakpoint_id: str) -> Breakpoint:
        with self._lock:
            bp = self._bps.pop(breakpoint_id, None)
            self._rearm()
        if bp is None:
            raise KeyError(f"no breakpoint {breakpoint_id!r}")
        return bp

    def get(self, breakpoint_id: str) -> Breakpoint:
        try:
            return self._bps[breakpoint_id]
        except KeyError:
            raise KeyError(f"no breakpoint {breakpoint_id!r}") from None

    def set_enabled(self, breakpoint_id: str, enabled: bool) -> Breakpoint:
        bp = self.get(breakpoint_id)
        with self._lock:
            bp.enabled = bool(enabled)
            bp.updated_at = now()
            self._rearm()
        return bp

    def list(
        self, *, job_id: str | None = None, worker_id: str | None = None, flow_id: str | None = None
    ) -> list[Breakpoint]:
        bps = list(self._bps.values())
        return [
            b
            for b in bps
            if (job_id is None or b.job_id == job_id)
            and (worker_id is None or b.worker_id in (None, worker_id))
            and (flow_id is None or b.flow_id in (None, flow_id))
        ]

    def clear(self) -> None:
        with self._lock:
            self._bps.clear()
            self._rearm()

    def check(
        self,
        kind: str,
        job: Any,
        routine_id: str,
        name: str | None,
        payload: Any,
        connection_index: int | None = None,
    ) -> str | None:
        return self.check_items(kind, job, routine_id, name, payload, connection_index)[0]

    def check_items(
        self,
        kind: str,
        job: Any,
        routine_id: str,
        name: str | None,
        payload: Any,
        connection_index: int | None = None,
    ) -> tuple[str | None, builtins.list[dict[str, Any]] | None]:
        """The breakpoint hit and, for a routine breakpoint with a condition, the items that
        made it true: ``[{"slot_name", "index", "item"}]`` (``index`` within the slot)."""
        connection = None
        if kind == "connection" and connection_index is not None:
            conns = job.worker.flow.connections
            connection = conns[connection_index] if connection_index < len(conns) else None
        names = None
        for bp in list(self._bps.values()):
            if not bp.enabled or not bp.matches(kind, job, routine_id, name, connection):
                continue
            matched = None
            if bp.has_condition:
                if names is None:
                    names = _names(kind, job, routine_id, name, payload)
                hits = bp.matching(names)
                if not hits:
                    continue
                if kind == "routine" and isinstance(payload, dict):
                    where = [
                        (slot, i, item)
                        for slot, lst in payload.items()
                        for i, item in enumerate(lst)
                    ]
                    matched = [
                        {"slot_name": where[h][0], "index": where[h][1], "item": where[h][2]}
                        for h in hits
                        if h < len(where)
                    ]
            bp.hit_count += 1
            return bp.breakpoint_id, matched
        return None, None
