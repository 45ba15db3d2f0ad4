"""Run-time guards of the safe evaluator: caps, and the checked arithmetic and builtins.

Split from :mod:`routilux_nb.core.expressions` (which re-exports what is public).
"""

from __future__ import annotations

import ast
import math
import operator as op
from collections.abc import Callable
from typing import Any

MAX_LENGTH = 1000  # characters of source text
MAX_DEPTH = 100  # syntax tree nesting
MAX_INT_BITS = 4096  # size of integers produced by arithmetic
MAX_SIZE = 100_000  # characters/items produced by `*` and `+` on sequences
MAX_ROUND_DIGITS = 100
MAX_NODES = 2000  # nodes of the syntax tree
MAX_LITERAL = 1000  # characters of one string literal

_Eval = Callable[[dict[str, Any]], Any]
_MISSING = object()
_SEQ = (str, bytes, bytearray, list, tuple)


class ExpressionError(ValueError):
    """A condition was refused, or failed while being evaluated."""


def _limit(what: str, why: str) -> ExpressionError:
    return ExpressionError(f"refused {what}: {why}")


def _size(obj: Any) -> int:
    """Deep item count of a container (characters for strings); stops past MAX_SIZE."""
    total, stack = 0, [obj]
    while stack and total <= MAX_SIZE:
        item = stack.pop()
        if isinstance(item, (str, bytes, bytearray)):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            total += len(item)
            if total <= MAX_SIZE:
                stack.extend(item.values() if isinstance(item, dict) else item)
        else:
            total += 1
    return total


def _fit(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _limit("integer result", f"larger than {MAX_INT_BITS} bits")
    return value


def _arith(kind: type, a: Any, b: Any) -> Any:
    """Apply ``+ * ** << %`` after checking that the result stays small."""
    if kind is ast.Mod and isinstance(a, (str, bytes, bytearray)):
        raise _limit("'%' string formatting", "use comparisons and string methods instead")
    if kind is ast.Add and isinstance(a, _SEQ) and isinstance(b, _SEQ):
        if _size(a) + _size(b) > MAX_SIZE:
            raise _limit(f"{type(a).__name__} concatenation", f"result over {MAX_SIZE} items")
    elif kind is ast.Mult:
        seq, n = (b, a) if isinstance(b, _SEQ) else (a, b)
        if isinstance(seq, _SEQ) and isinstance(n, int) and n > 0 and _size(seq) * n > MAX_SIZE:
            raise _limit(f"{type(seq).__name__} repetition * {n}", f"result over {MAX_SIZE} items")
    elif kind is ast.Pow and isinstance(b, int) and not isinstance(a, (float, complex)):
        if abs(b) > MAX_INT_BITS:
            raise _limit(f"exponent {b}", f"exponents are limited to {MAX_INT_BITS}")
        if isinstance(a, int) and b > 0 and (abs(a).bit_length() - 1) * b > MAX_INT_BITS:
            raise _limit(f"power ** {b}", f"result larger than {MAX_INT_BITS} bits")
    elif kind is ast.LShift and isinstance(b, int) and b > MAX_INT_BITS:
        raise _limit(f"shift << {b}", f"shifts are limited to {MAX_INT_BITS}")
    return _fit(_BINOPS[kind](a, b))


def _round(number: Any, ndigits: int | None = None) -> Any:
    if ndigits is not None and abs(ndigits) > MAX_ROUND_DIGITS:  # round(1, -10**9) hangs
        raise _limit(f"round(..., {ndigits})", f"ndigits is limited to {MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    if not isinstance(start, (int, float, complex)):  # sum(lists, []) is quadratic
        raise _limit("sum() with a non-numeric start", "sum() adds numbers only")
    return sum(iterable, start)


def _str(*args: Any, **kwargs: Any) -> str:
    if args and isinstance(args[0], (list, tuple, set, dict)) and _size(args[0]) > MAX_SIZE:
        raise _limit("str() of a large container", f"more than {MAX_SIZE} items")
    return str(*args, **kwargs)


_TYPES: dict[str, type] = {t.__name__: t for t in (list, dict, str, int, float, bool, tuple)}


def _isinstance(obj: Any, classinfo: Any) -> bool:
    kinds = classinfo if isinstance(classinfo, tuple) else (classinfo,)
    if not all(any(k is t for t in _TYPES.values()) for k in kinds):
        raise _limit("isinstance() type", f"only {', '.join(_TYPES)} may be used")
    return isinstance(obj, classinfo)


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: op.add, ast.Sub: op.sub, ast.Mult: op.mul, ast.Div: op.truediv,
    ast.FloorDiv: op.floordiv, ast.Mod: op.mod, ast.Pow: op.pow, ast.LShift: op.lshift,
    ast.RShift: op.rshift, ast.BitOr: op.or_, ast.BitAnd: op.and_, ast.BitXor: op.xor,
}  # fmt: skip


def _isnan(value: Any) -> bool:
    """``isnan(x)``: true for a float NaN (Python, numpy); false for anything else, never an error."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        and type(value).__module__ != "numpy"
    ):
        return False
    try:
        return math.isnan(value)
    except (TypeError, ValueError):
        return False


def _isnull(value: Any) -> bool:
    """``isnull(x)``: true for ``None``, NaN and pandas' missing markers (``NA``, ``NaT``)."""
    return value is None or _isnan(value) or type(value).__name__ in ("NAType", "NaTType")
