"""Execution events: plain tuples on the hot path, :class:`TraceRecord` views when read.

The recorder appends to bounded rings either one event tuple ``(seq, ts, event_type,
routine_id, job_id, detail, payload, duration, status)`` or, for a whole activation, one
*activation entry* (written by the recorder, see :mod:`.entries`) that stands for its ``slot_call``,
``routine_start``, ``event_emit`` and ``routine_end`` events. Readers get
:class:`TraceRecord` named tuples (same positions, plus ``cpu_time`` and ``queue_wait`` on
``routine_end``), :class:`ExecutionEvent` objects and DataFrames, built on demand.

The read-side views (:class:`TraceRecord`, :class:`ExecutionEvent`, :func:`summarize`, the
bus message) live in :mod:`.records`.

Seqs are global and taken right before a record enters its ring: an activation's events take
theirs, as one contiguous block (:func:`take_seqs`), when it ends, so a reader resuming "after
seq N" never misses a record written later with a smaller seq. Nothing on the recording path
takes a lock: seq blocks come from one C-level call (atomic under the GIL), deque appends are
atomic, and rings are trimmed by whichever writer gets the ring's try-lock.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from routilux_nb.core.display import HtmlRepr

from .entries import (
    emit_count,
    emitted,
    input_items,
    input_slots,
    pack,
    unpacked,
)
from .records import ExecutionEvent, TraceRecord, bus_message, summarize

__all__ = [
    "ACTIVATION",
    "EVENT_TYPES",
    "TRACE_COLUMNS",
    "ExecutionEvent",
    "Ring",
    "TraceBuffer",
    "TraceRecord",
    "bus_message",
    "expand",
    "next_seq",
    "summarize",
    "take_seqs",
]

EVENT_TYPES = (
    "job_start",
    "job_status",
    "job_end",
    "routine_start",
    "routine_end",
    "slot_call",
    "event_emit",
    "routine_error",
    "routine_retry",
    "breakpoint_hit",
    "breakpoint_release",
    "items_discarded",
    "routine_skipped",
    "worker_status",
)
#: columns of :meth:`TraceBuffer.to_pandas` (see :mod:`routilux_nb.monitor.frames`)
TRACE_COLUMNS = [
    "seq",
    "event_id",
    "job_id",
    "routine_id",
    "event_type",
    "timestamp",
    "slot_name",
    "event_name",
    "error_type",
    "previous_status",
    "reason",
    "data",
    "duration",
    "cpu_time",
    "queue_wait",
    "status",
]
#: the ``event_type`` slot of an activation entry (never seen by readers)
ACTIVATION = "activation"

_seqs = itertools.count(1)
#: one seq (atomic: a single C-level call)
next_seq = _seqs.__next__


def take_seqs(n: int) -> int:
    """Take ``n`` consecutive seqs at once; returns the first. One C-level call consumes them
    all, so no other thread's seq falls inside the block."""
    return next(itertools.islice(_seqs, n - 1, None)) - n + 1


def expand(entry: tuple[Any, ...], emits_only: bool = False) -> list[TraceRecord]:
    """The events a ring entry stands for, oldest first."""
    if entry[2] != ACTIVATION:
        return [TraceRecord(*entry)]
    seq, ts, _, rid, jid, _i, _e, duration, failed, ts_end, cpu, wait, attempt, _n = entry
    inputs, emits = unpacked(entry)
    out: list[TraceRecord] = []
    if not emits_only:
        for slot, items in input_items(inputs):
            out.append(TraceRecord(seq, ts, "slot_call", rid, jid, slot, items, None, None))
            seq += 1
        out.append(
            TraceRecord(
                seq,
                ts,
                "routine_start",
                rid,
                jid,
                None,
                None,
                None,
                f"attempt {attempt}" if attempt else None,
            )
        )
        seq += 1
    else:
        seq += input_slots(inputs) + 1
    for ets, event, payload in emitted(emits):
        out.append(TraceRecord(seq, ets, "event_emit", rid, jid, event, payload, None, None))
        seq += 1
    if not emits_only:
        out.append(
            TraceRecord(
                seq,
                ts_end,
                "routine_end",
                rid,
                jid,
                None,
                failed,
                duration,
                "ok" if failed is None else "error",
                cpu,
                wait,
            )
        )
    return out


#: held by the one writer trimming a ring (a try-lock: nobody ever waits on it)
_TRIMMING = threading.Lock()


class Ring:
    """Bounded entries that stand for a known number of events each; keeps at least the newest
    ``size`` events. Writers never block: they append, and one of them (the one that gets the
    try-lock) trims once about twice ``size`` events are held. Readers copy, expand and cut.

    In a trace an activation entry counts all its events; in a worker's history
    (``emits_only``) it counts its emits.
    """

    __slots__ = ("_approx", "_entries", "emits_only", "size")

    def __init__(self, size: int, emits_only: bool = False) -> None:
        self._entries: deque[tuple[Any, ...]] = deque()
        self._approx = 0
        self.emits_only = emits_only
        self.size = size

    def _count(self, entry: tuple[Any, ...]) -> int:
        if entry[2] != ACTIVATION:
            return 1
        return emit_count(entry[6]) if self.emits_only else entry[13]

    def add(self, entry: tuple[Any, ...], n: int) -> None:
        """Append an entry standing for ``n`` events."""
        self._entries.append(entry)
        approx = self._approx = self._approx + n  # a hint only: trim() counts exactly
        if approx > 2 * self.size + 16:
            self.trim()

    def trim(self) -> None:
        """Drop the oldest entries beyond the newest ``size`` events (skipped while another
        thread trims; the next add tries again)."""
        if not _TRIMMING.acquire(False):  # shared by all rings: a skipped trim happens next add
            return
        try:
            entries = self._entries
            held = list(entries)  # one C-level copy: appends of other threads go after it
            kept, drop = 0, len(held)
            while drop > 0 and kept < self.size:
                drop -= 1
                kept += self._count(held[drop])
            if drop:
                self._dropping([entries.popleft() for _ in range(drop)])
            self._approx = kept
        finally:
            _TRIMMING.release()

    def _dropping(self, entries: list[tuple[Any, ...]]) -> None:
        """The oldest entries, just dropped (a history ring forgets them)."""

    def records(self, emits_only: bool = False) -> list[TraceRecord]:
        """The newest ``size`` events, by seq."""
        rows = [r for e in list(self._entries) for r in expand(e, emits_only)]
        rows.sort()
        size = self.size
        return rows[-size:] if len(rows) > size else rows if size > 0 else []

    def __len__(self) -> int:
        return min(sum(self._count(e) for e in list(self._entries)), self.size)


class TraceBuffer(Ring, HtmlRepr):
    """A job's trace: the newest ``maxlen`` events (``Monitor(trace_size=...)``, default 1000);
    ``total`` counts every event ever recorded, kept or not."""

    __slots__ = ("_owner", "dropped_entries", "dropped_events")

    def __init__(self, size: int, owner: Any) -> None:  # Ring's fields: hot path
        self._entries: deque[tuple[Any, ...]] = deque()
        self._approx = 0
        self.emits_only = False
        self.size = size
        #: the job's monitor (it counts what the ring drops)
        self._owner = owner
        #: events the ring dropped, or that an activation noted beyond what rings keep
        self.dropped_events = 0
        #: entries the ring dropped (entry ``i`` ever added is at ``i - dropped_entries``)
        self.dropped_entries = 0

    def held(self) -> list[tuple[Any, ...]]:
        """The entries held now, oldest first (a copy)."""
        return list(self._entries)

    def since(self, k: int) -> tuple[int, list[tuple[Any, ...]] | None]:
        """``(n, entries)``: how many entries were ever added, and those added after the
        first ``k`` (``None`` if some of them were dropped already). Call it with the
        writers' lock held (the monitor's counting lock)."""
        dropped = self.dropped_entries
        entries = self._entries
        n = dropped + len(entries)
        if k < dropped:
            return n, None
        return n, list(itertools.islice(entries, k - dropped, None))

    def state(self) -> tuple[int, tuple[tuple[Any, ...], ...], int, int, int]:
        """``(size, entries, approx, dropped_events, dropped_entries)``: what
        :meth:`restored` takes back."""
        # fmt: off
        return (self.size, tuple(self._entries), self._approx, self.dropped_events,
                self.dropped_entries)
        # fmt: on

    @classmethod
    def restored(cls, owner: Any, state: tuple[Any, ...]) -> TraceBuffer:
        trace = cls(state[0], owner)
        trace.load(*state[1:])
        return trace

    def load(
        self,
        entries: tuple[tuple[Any, ...], ...],
        approx: int,
        dropped_events: int,
        dropped_entries: int,
    ) -> None:
        """Hold ``entries`` (a fresh trace being restored from :meth:`state`)."""
        self._entries.extend(entries)
        self._approx = approx
        self.dropped_events = dropped_events
        self.dropped_entries = dropped_entries

    def _dropping(self, entries: list[tuple[Any, ...]]) -> None:
        """Count what the job's ring drops (its writer holds the monitor's counting lock)."""
        self.dropped_events += sum(self._count(e) for e in entries)
        self.dropped_entries += len(entries)
        self._owner.drop(entries)

    @property
    def total(self) -> int:
        """Every event recorded for the job, kept or not (exact)."""
        return self.dropped_events + sum(self._count(e) for e in list(self._entries))

    @property
    def maxlen(self) -> int:
        return self.size

    @property
    def truncated(self) -> bool:
        """True once older events fell out of the ring (raise ``Monitor(trace_size=...)``)."""
        return self.total > len(self)

    def records(self, limit: int | None = None, since: int | None = None) -> list[TraceRecord]:
        rows = super().records()
        if since is not None:
            rows = [r for r in rows if r.seq > since]
        if limit is not None:
            rows = rows[len(rows) - limit :] if limit > 0 else []
        return rows

    def events(self, limit: int | None = None, since: int | None = None) -> list[ExecutionEvent]:
        return [ExecutionEvent.from_record(r) for r in self.records(limit, since)]

    def last_start_seq(self, routine_id: str) -> int | None:
        """The seq of the newest ``routine_start`` of ``routine_id`` still held, or ``None``.

        Cheap right after that activation ended (its entry is among the newest); exporters use
        it to label the activation with its place in the trace.
        """
        entries = self._entries
        for i in range(1, len(entries) + 1):
            try:
                e = entries[-i]
            except IndexError:  # trimmed meanwhile
                return None
            if e[3] != routine_id:
                continue
            if e[2] == ACTIVATION:
                return int(e[0]) + input_slots(e[5])  # its slot_calls come first
            if e[2] == "routine_start":
                return int(e[0])
        return None

    def pack(self) -> None:
        """Pack the activation entries held (see :func:`.entries.pack`): called once the job
        finished, so the garbage collector stops walking every kept job's payloads. Holds the
        trimming try-lock (skipped if another ring trims), so entries are only replaced, never
        moved: later appends go after them."""
        if not _TRIMMING.acquire(False):
            return
        try:
            entries = self._entries
            for i in range(len(entries)):
                e = entries[i]
                if e[2] == ACTIVATION:
                    packed = pack(e)
                    if packed is not None:
                        entries[i] = packed
        finally:
            _TRIMMING.release()

    def to_list(self, limit: int | None = None) -> list[dict[str, Any]]:
        return [e.to_dict() for e in self.events(limit)]

    def to_pandas(self, limit: int | None = None) -> Any:
        """DataFrame with :data:`TRACE_COLUMNS`; ``attrs["truncated"]`` says whether events were cut."""
        from .frames import trace_frame

        return trace_frame(self.records(limit), truncated=self.truncated, setting="trace_size")

    def __iter__(self) -> Iterator[ExecutionEvent]:
        return iter(self.events())

    def __repr__(self) -> str:
        return f"Trace(events={len(self)}, total={self.total}, maxlen={self.maxlen})"
