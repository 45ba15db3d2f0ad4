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
numpy array / scalar          nested lists / the Python number (``datetime64`` ISO text)
pandas DataFrame              split layout: ``{"__type__": "DataFrame", "shape": [rows, cols],
                              "columns": [...], "dtypes": {column: dtype}, "data": [[row
                              values]...], "truncated": bool}``, plus ``"index": [...]`` when
                              the index is not the default ``0..rows-1``; the first
                              ``MAX_ROWS`` rows
pandas Series                 ``{"__type__": "Series", "name", "dtype", "shape": [n], "data":
                              [...], "truncated"}`` (``"index"`` as for a DataFrame)
``Timestamp``, ``NaT``, NA    ISO 8601 text (with its offset when the zone is known), ``null``
object with ``to_dict()``     its result; dataclass: its fields; any callable
                              ``"<callable name>"``; else ``repr`` (bounded)
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
        if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
            if value != value:  # pandas NaT
                return None
            if isinstance(value, dt.timedelta):
                return value.total_seconds()
            return value.isoformat()
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
        if callable(value):  # functions, classes, partials: by name, never an address
            name = getattr(value, "__name__", None) or type(value).__name__
            return _text(f"<callable {name}>")
        return _text(_short_repr(value))

    def max_bytes(self) -> int:
        return max(0, self.budget) * 8 + 1024

    def _numpy(self, value: Any, depth: int) -> Any:
        if getattr(value, "ndim", 0) and hasattr(value, "tolist"):
            kind = getattr(getattr(value, "dtype", None), "kind", "")
            if value.size > self.budget:
                flat = value.reshape(-1)[: max(0, self.budget)]
                return [
                    *(self.walk(v, depth + 1) for v in _plain_values(flat, kind)),
                    f"<truncated: array of {value.size} values>",
                ]
            return self.walk(_plain_values(value, kind), depth)
        kind = getattr(getattr(value, "dtype", None), "kind", "")
        if kind in ("M", "m"):
            return self.walk(_plain_values(value.reshape(1), kind)[0], depth)
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
            columns = [_plain_values(head.iloc[:, i]) for i in range(cols)]
            out: dict[str, Any] = {
                "__type__": "DataFrame",
                "shape": [int(rows), int(cols)],
                "columns": [self.walk(c, depth + 1) for c in value.columns],
                "dtypes": {_key(c): str(t) for c, t in value.dtypes.items()},
            }
            self._index(out, value, head, depth)
            out["data"] = self.walk([list(r) for r in zip(*columns, strict=True)], depth + 1)
            out["truncated"] = rows > MAX_ROWS
            return out
        if kind == "Series":
            head = value.head(MAX_ROWS)
            out = {
                "__type__": "Series",
                "name": self.walk(value.name, depth + 1),
                "dtype": str(value.dtype),
                "shape": [int(len(value))],
            }
            self._index(out, value, head, depth)
            out["data"] = self.walk(_plain_values(head), depth + 1)
            out["truncated"] = len(value) > MAX_ROWS
            return out
        if kind in ("NaTType", "NAType"):
            return None
        if kind in ("Timestamp", "Timedelta"):
            iso = getattr(value, "isoformat", None)
            if callable(iso):
                return iso()
        if kind in ("Period", "Interval"):
            return _text(str(value))  # "2026-01", "(0, 1]"
        tolist = getattr(value, "tolist", None)  # Index, Categorical, extension arrays
        if callable(tolist):
            try:
                return self.walk(tolist(), depth)
            except Exception:
                pass
        return _text(_short_repr(value))

    def _index(self, out: dict[str, Any], value: Any, head: Any, depth: int) -> None:
        index = value.index
        if type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1:
            return  # the default 0..n-1: nothing to say
        out["index"] = self.walk(_plain_values(head.index), depth + 1)


def _plain_values(values: Any, kind: str | None = None) -> list[Any]:
    """A numpy array's or pandas column's values as Python objects (datetimes as ISO text)."""
    if kind is None:
        kind = getattr(getattr(values, "dtype", None), "kind", "")
    if kind == "M" and hasattr(values, "reshape"):  # numpy datetime64: ISO text, NaT null
        import numpy as np

        return [None if t == "NaT" else t for t in np.datetime_as_string(values).tolist()]
    if kind == "m" and hasattr(values, "reshape"):  # numpy timedelta64: seconds
        import numpy as np

        return (values / np.timedelta64(1, "s")).tolist()  # type: ignore[no-any-return]
    return values.tolist()  # type: ignore[no-any-return]


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
