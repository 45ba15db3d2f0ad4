"""Copies of recorded steps' inputs and data, with an estimate of their size (see
:mod:`routilux_nb.core.steps`): dicts, lists, tuples and sets are rebuilt, strings, numbers,
``None`` and bytes shared, anything else deep-copied (or, if that fails, shared and flagged).
"""

from __future__ import annotations

import copy
import sys
from typing import Any

__all__ = ["snapshot", "snapshot_retrying"]

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
