"""Copies of recorded steps' inputs and data, with their size (see :mod:`routilux_nb.core.steps`).

:func:`freeze` keeps plain data (dicts, lists, tuples, sets, str, bytes, numbers, bools,
``None``: what the ``marshal`` module writes) as ``marshal`` bytes: one C-level call copies it,
the length is its size, and the bytes are immutable and invisible to the garbage collector, so
keeping thousands of steps costs little. Anything else is copied by :func:`snapshot` (dicts,
lists, tuples and sets rebuilt, anything else deep-copied, or, if that fails, kept by reference
and flagged ``shared``) with an estimated size. :func:`thaw` gives a fresh copy at each call.
"""

from __future__ import annotations

import copy
import marshal
import sys
from typing import Any

__all__ = ["freeze", "snapshot", "snapshot_retrying", "thaw"]

_SCALARS = frozenset({int, float, bool, complex, type(None)})
_MAX_DEPTH = 32


def snapshot(value: Any) -> tuple[Any, int, bool]:
    """``(copy, estimated bytes, shared)`` of ``value`` (see module docstring)."""
    acc: list[Any] = [0, False]
    return _copy(value, acc, 0), acc[0], acc[1]


def _copy(v: Any, acc: list[Any], depth: int) -> Any:
    t = type(v)
    if t is str or t is bytes:
        acc[0] += len(v)
        return v
    if t in _SCALARS:
        acc[0] += 8
        return v
    if depth > _MAX_DEPTH:  # deep or circular: deepcopy keeps cycles
        return _deep(v, acc)
    if t is dict:
        return _copy_dict(v, acc, depth)
    if t is list or t is tuple:
        acc[0] += 8 * len(v)
        out = [_copy(x, acc, depth + 1) for x in v]
        return out if t is list else tuple(out)
    if t is set or t is frozenset:  # members are hashable, so treated as unchanging
        acc[0] += 8 * len(v)
        return set(v) if t is set else v
    return _deep(v, acc)


def _copy_dict(d: dict[Any, Any], acc: list[Any], depth: int) -> dict[Any, Any]:
    out = {}
    n = 0
    for k, v in d.items():
        t = type(v)
        if t is str:
            n += len(v) + 8
        elif t in _SCALARS:
            n += 16
        else:
            n += 8
            v = _copy(v, acc, depth + 1)
        out[k] = v
    acc[0] += n
    return out


def _deep(v: Any, acc: list[Any]) -> Any:
    try:
        acc[0] += sys.getsizeof(v)
    except Exception:
        acc[0] += 64
    try:
        return copy.deepcopy(v)
    except Exception:  # a lock, a socket, a generator...: kept as it is
        acc[1] = True
        return v


def snapshot_retrying(value: Any) -> tuple[Any, int, bool]:
    """A routine of the same job may change ``value`` while it is copied: try again, then share."""
    for _ in range(3):
        try:
            return snapshot(value)
        except RuntimeError:  # "dictionary changed size during iteration"
            continue
    return value, 0, True


class _Held:
    """A frozen value ``marshal`` could not write: a snapshot, thawed by copying it again."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def freeze(value: Any) -> tuple[Any, int, bool]:
    """``(frozen, size in bytes, shared)`` of ``value`` (see module docstring)."""
    try:
        blob = marshal.dumps(value)
    except (ValueError, TypeError, RecursionError):  # not plain data: copy it in Python
        try:
            copied, size, shared = snapshot_retrying(value)
        except Exception:  # recording never fails an activation: keep the object itself
            return _Held(value), 0, True
        return _Held(copied), size, shared
    return blob, len(blob), False


def thaw(frozen: Any) -> Any:
    """A fresh copy of what :func:`freeze` kept."""
    if type(frozen) is bytes:
        return marshal.loads(frozen)
    return snapshot(frozen.value)[0]
