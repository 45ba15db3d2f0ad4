"""An activation entry's inputs and emits, as rings keep them.

* inputs: the engine's ``{slot: [payload, ...]}``, as the activation took them;
* emits: ``(ts, event, payload, ts, event, payload, ...)`` or ``None`` (one container instead
  of a list plus a tuple per emit).

Readers go through :func:`input_items`, :func:`input_slots` and :func:`emitted`.

The garbage collector walks every container a kept job holds at each full collection, and it
never stops tracking a tuple that holds a dict or a list. A completed job's trace goes into
one blob (see :mod:`.state`); a failed or cancelled job's activation entries are *packed* one
by one (:func:`pack`): their inputs and emits go into one marshal blob (bytes, which the
collector ignores) in the inputs position, and the entry becomes a tuple of atomic values the
collector stops tracking. Readers unpack (:func:`unpacked`), and get payloads equal to the
recorded ones; entries holding anything marshal cannot write stay as they are.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from typing import Any

__all__ = [
    "compact_emits",
    "emit_count",
    "emitted",
    "input_items",
    "input_slots",
    "pack",
    "unpacked",
]

#: what an entry holds for its inputs: ``{slot: [payload, ...]}``
Inputs = dict[str, list[Any]]


def compact_emits(emits: list[Any] | None) -> tuple[Any, ...] | None:
    """The emits an activation noted, ``[ts, event, payload, ts, ...]``, as its entry keeps
    them: one tuple (``None`` when nothing was emitted)."""
    return tuple(emits) if emits else None


def input_items(inputs: Inputs) -> list[tuple[str, list[Any]]]:
    """``[(slot, [payload, ...]), ...]`` of an entry's inputs (fresh lists)."""
    return [(slot, list(items)) for slot, items in inputs.items()]


def input_slots(inputs: Inputs | bytes) -> int:
    """How many slots fed the activation (one ``slot_call`` event each)."""
    if type(inputs) is bytes:
        inputs = marshal.loads(inputs)[0]
    return len(inputs)


def emitted(emits: tuple[Any, ...] | list[Any] | None) -> Iterator[tuple[float, str, Any]]:
    """``(ts, event, payload)`` of each emit of an entry, in order."""
    if not emits:
        return iter(())
    return zip(emits[0::3], emits[1::3], emits[2::3], strict=True)


def emit_count(emits: tuple[Any, ...] | None) -> int:
    return len(emits) // 3 if emits else 0


def pack(entry: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """An activation entry with its inputs and emits in one marshal blob, or ``None`` when they
    hold something marshal cannot write (or are packed already)."""
    inputs = entry[5]
    if type(inputs) is bytes:
        return None
    try:
        blob = marshal.dumps((inputs, entry[6]))
    except ValueError:  # not marshal-able (objects, subclasses): kept as recorded
        return None
    return (*entry[:5], blob, None, *entry[7:])


def unpacked(entry: tuple[Any, ...]) -> tuple[Any, Any]:
    """``(inputs, emits)`` of an activation entry, packed or not."""
    inputs = entry[5]
    if type(inputs) is bytes:
        out: tuple[Any, Any] = marshal.loads(inputs)
        return out
    return inputs, entry[6]
