"""Wiring checks that find what is legal but probably a mistake: a forgotten ``connect``.

Two signs, reported as warnings by :meth:`Flow.validate <routilux_nb.core.flow.Flow.validate>`:

* an event connected to nothing on a routine whose other events are connected (a filter's
  ``rejected`` beside its connected ``output``): what it emits goes nowhere (counted in
  ``job.metrics.unrouted`` and a worker's ``statistics()["unrouted_emits"]``). A routine none of whose events are connected is the
  end of the flow: its emits are its result, nothing is said about it.
* more than one entry routine (a routine no connection feeds) while an earlier routine has an
  event connected to nothing: the later entry was most likely meant to be fed by it, and the
  warning names the ``flow.connect(...)`` call that would do it.

:func:`entry_hint` gives the same suggestion for the error a submission raises when it has to
choose between entry routines.

>>> from routilux_nb.core.flow import Flow
>>> flow = Flow("forgot")
>>> @flow.routine(slots=["input"], events=["output"])
... def a(input):
...     return input
>>> @flow.routine(slots=["input"], events=[])
... def b(input):
...     pass
>>> forgotten_connects(flow)
[('a.output', 'b.input')]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .flow import Flow

__all__ = ["entry_hint", "forgotten_connects", "wiring_warnings"]


def _loose_events(flow: Flow) -> dict[str, list[str]]:
    """Per routine (in the order they were added), its events that no connection leaves from."""
    connected = {(c.source_routine, c.source_event) for c in list(flow.connections)}
    return {
        rid: [e for e in routine.event_specs if (rid, e) not in connected]
        for rid, routine in list(flow.routines.items())
    }


def _downstream(flow: Flow, start: str) -> set[str]:
    """``start`` and every routine its connections lead to."""
    edges: dict[str, set[str]] = {}
    for c in list(flow.connections):
        edges.setdefault(c.source_routine, set()).add(c.target_routine)
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def forgotten_connects(flow: Flow) -> list[tuple[str, str]]:
    """``("a.output", "b.input")`` pairs: each entry routine after the first, fed by the
    closest earlier routine that has an event connected to nothing (see the module docs)."""
    entries = flow.entry_routines()
    if len(entries) < 2:
        return []
    loose = _loose_events(flow)
    order = list(flow.routines)
    out = []
    for entry in entries[1:]:
        slots = list(flow.routines[entry].slot_specs)
        if not slots:
            continue
        below = _downstream(flow, entry)  # feeding the entry from these would make a cycle
        before = order[: order.index(entry)]
        sources = [r for r in reversed(before) if loose[r] and r not in below]
        if sources:
            out.append((f"{sources[0]}.{loose[sources[0]][0]}", f"{entry}.{slots[0]}"))
    return out


def entry_hint(flow: Flow, entries: list[str] | None = None) -> str:
    """``"; did you forget `flow.connect('a.output', 'b.input')`?"`` for a flow whose several
    entry routines look like a forgotten connect, else ``""``."""
    pairs = forgotten_connects(flow)
    if entries is not None:
        pairs = [p for p in pairs if p[1].split(".")[0] in entries]
    if not pairs:
        return ""
    calls = " and ".join(f"`flow.connect({a!r}, {b!r})`" for a, b in pairs)
    return f"; did you forget {calls}?"


def wiring_warnings(flow: Flow) -> list[str]:
    """The warnings of the two checks (see the module docs), in the order routines were added."""
    warnings = []
    connected_from = {c.source_routine for c in list(flow.connections)}
    for rid, events in _loose_events(flow).items():
        if rid in connected_from:
            for event in events:
                warnings.append(
                    f"event '{rid}.{event}' is connected to nothing: what it emits goes nowhere "
                    f"(counted in job.metrics.unrouted); if that is not intended, connect it: "
                    f"flow.connect('{rid}.{event}', '<routine>.<slot>')"
                )
    for source, target in forgotten_connects(flow):
        entry = target.split(".")[0]
        warnings.append(
            f"routine {entry!r} is an entry routine (nothing feeds it) besides "
            f"{flow.entry_routines()[0]!r}: did you forget "
            f"`flow.connect({source!r}, {target!r})`? (if it is meant as an entry, submit "
            f"with routine_id={entry!r})"
        )
    return warnings
