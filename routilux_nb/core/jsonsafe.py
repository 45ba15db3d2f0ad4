"""The package's one JSON sanitizer: any Python value in, strict JSON-compatible data out.

Job data, payloads and configs are whatever user code produced. Every reader that answers
JSON (HTTP, WebSockets, stores, widgets) writes them through :func:`to_jsonable` (or
:func:`dumps`), so no value can make a read fail. The form is documented and as faithful as
JSON allows:

============================  =================================================================
value                         becomes
============================  =================================================================
``str``                       itself; lone surrogates become U+FFFD
``int`` (``bool``)            itself; past the ~4,300 digits ``str()`` allows, its ``hex`` text
                              (``"<int of N bits>"`` past 100,000 bits)
``float``                     itself; NaN and infinities become ``null``
dict keys                     strings: ``str``/``int``/``float``/``bool``/``None`` as JSON
                              spells them, anything else (tuples...) as its ``repr``
``list``/``tuple``/``deque``  a list; ``set``/``frozenset`` a sorted list
``bytes``                     the text when valid UTF-8, else ``{"base64": ...}``
datetime, date, time          ISO 8601 text; ``timedelta`` seconds; ``Decimal``/``UUID``/paths
                              text; ``Enum`` its value
numpy array / scalar          nested lists / the Python scalar
pandas DataFrame              ``{"type": "DataFrame", "shape": [rows, cols], "columns": [...],
                              "records": [first rows as {column: value}], "truncated": bool}``
pandas Series                 ``{"type": "Series", "name", "length", "values", "truncated"}``
object with ``to_dict()``     its result; dataclass: its fields; else ``repr`` (bounded)
a container inside itself     ``"<circular reference>"``
deeper than ``max_depth``     ``"<truncated: deeper than N levels>"``
past ``max_items`` values     the rest of that container is left out, with a marker item
============================  =================================================================
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import math
from collections import deque
from collections.abc import Mapping
from decimal import Decimal
from pathlib import PurePath
from typing import Any
from uuid import UUID

__all__ = ["MAX_DEPTH", "MAX_ITEMS", "dumps", "to_jsonable"]

MAX_DEPTH = 64
MAX_ITEMS = 100_000
MAX_ROWS = 1000  # DataFrame rows (and Series values) shown
_MAX_REPR = 2000
_SAFE_INT = 2**63  # smaller ints need no check
_CIRCULAR = "<circular reference>"


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep what pairs, replace the rest
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return value


def _int(value: int) -> int | str:
    if -_SAFE_INT < value < _SAFE_INT:
        return value
    try:
        str(value)  # the interpreter refuses str() of ints past ~4,300 digits (and so does json)
    except ValueError:
        bits = value.bit_length()
        return hex(value) if bits <= 100_000 else f"<int of {bits} bits>"
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return _text(key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(_int(key))
    if isinstance(key, float):
        return repr(key) if math.isfinite(key) else ("NaN" if key != key else repr(key))
    return _text(_short_repr(key))


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not break a read
        text = f"<{type(value).__name__} (repr failed: {type(exc).__name__})>"
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _module(value: Any) -> str:
    return type(value).__module__.split(".", 1)[0]


class _Walker:
    def __init__(self, max_depth: int, max_items: int) -> None:
        self.max_depth = max_depth
        self.budget = max_items
        self.active: set[int] = set()

    def walk(self, value: Any, depth: int) -> Any:
        self.budget -= 1
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return _text(value)
        if isinstance(value, int):
            return _int(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if depth >= self.max_depth:
            return f"<truncated: deeper than {self.max_depth} levels>"
        if isinstance(value, (Mapping, list, tuple, set, frozenset, deque)):
            key = id(value)
            if key in self.active:
                return _CIRCULAR
            self.active.add(key)
            try:
                return self._container(value, depth)
            finally:
                self.active.discard(key)
        return self._other(value, depth)

    def _container(self, value: Any, depth: int) -> Any:
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in list(value.items()):
                if self.budget <= 0:
                    out["<truncated>"] = f"more than {MAX_ITEMS} values"
                    break
                out[_key(k)] = self.walk(v, depth + 1)
            return out
        items = list(value)
        if isinstance(value, (set, frozenset)):
            try:
                items = sorted(items)
            except TypeError:
                items = sorted(items, key=repr)
        result: list[Any] = []
        for v in items:
            if self.budget <= 0:
                result.append(f"<truncated: {len(items) - len(result)} more items>")
                break
            result.append(self.walk(v, depth + 1))
        return result

    def _other(self, value: Any, depth: int) -> Any:
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return value.isoformat()
        if isinstance(value, dt.timedelta):
            return value.total_seconds()
        if isinstance(value, (bytes, bytearray, memoryview)):
            raw = bytes(value)
            try:
                return _text(raw.decode("utf-8"))
            except UnicodeDecodeError:
                return {"base64": base64.b64encode(raw[: self.max_bytes()]).decode("ascii")}
        if isinstance(value, enum.Enum):
            return self.walk(value.value, depth)
        if isinstance(value, (Decimal, UUID, PurePath)):
            return str(value)
        module = _module(value)
        if module == "numpy":
            return self._numpy(value, depth)
        if module == "pandas":
            return self._pandas(value, depth)
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict) and not isinstance(value, type):
            try:
                return self.walk(to_dict(), depth)
            except Exception:  # a failing to_dict falls back to the repr
                pass
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
            return self.walk(fields, depth)
        return _text(_short_repr(value))

    def max_bytes(self) -> int:
        return max(0, self.budget) * 8 + 1024

    def _numpy(self, value: Any, depth: int) -> Any:
        if hasattr(value, "ndim") and getattr(value, "ndim", 0) > 0 and hasattr(value, "tolist"):
            if value.size > self.budget:
                flat = value.reshape(-1)[: max(0, self.budget)].tolist()
                return [
                    *(self.walk(v, depth + 1) for v in flat),
                    f"<truncated: array of {value.size} values>",
                ]
            return self.walk(value.tolist(), depth)
        item = getattr(value, "item", None)
        if callable(item):
            try:
                return self.walk(item(), depth)
            except Exception:
                pass
        return _text(_short_repr(value))

    def _pandas(self, value: Any, depth: int) -> Any:
        kind = type(value).__name__
        if kind == "DataFrame":
            rows, cols = value.shape
            head = value.head(MAX_ROWS)
            records = [
                dict(zip(map(_key, head.columns), row, strict=False))
                for row in head.itertuples(index=False, name=None)
            ]
            return {
                "type": "DataFrame",
                "shape": [int(rows), int(cols)],
                "columns": [_key(c) for c in value.columns],
                "records": self.walk(records, depth + 1),
                "truncated": rows > MAX_ROWS,
            }
        if kind == "Series":
            return {
                "type": "Series",
                "name": self.walk(value.name, depth + 1),
                "length": int(len(value)),
                "values": self.walk(list(value.head(MAX_ROWS)), depth + 1),
                "truncated": len(value) > MAX_ROWS,
            }
        if kind in ("Timestamp", "Timedelta", "Period"):
            iso = getattr(value, "isoformat", None)
            if callable(iso):
                return iso()
        if kind in ("NaTType",):
            return None
        return _text(_short_repr(value))


def to_jsonable(value: Any, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> Any:
    """``value`` as data :func:`json.dumps` writes with ``allow_nan=False`` (see the table above)."""
    return _Walker(max_depth, max_items).walk(value, 0)


def dumps(value: Any, *, max_depth: int = MAX_DEPTH, max_items: int = MAX_ITEMS) -> str:
    """Compact JSON text of any value: plain data is written as is (fast), anything else is
    sanitized first with :func:`to_jsonable`."""
    try:
        text = json.dumps(
            value,
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
            default=_refuse,
            check_circular=True,
        )
        text.encode("utf-8")  # lone surrogates would fail only when sent
        return text
    except (TypeError, ValueError, RecursionError, OverflowError):
        pass
    return json.dumps(
        to_jsonable(value, max_depth=max_depth, max_items=max_items),
        ensure_ascii=False,
        allow_nan=False,
        separators=(",", ":"),
    )


def _refuse(obj: Any) -> Any:
    raise TypeError(f"{type(obj).__name__} needs sanitizing")
