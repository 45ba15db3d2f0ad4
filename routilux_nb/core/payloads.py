"""DataFrames and arrays as payloads: who owns them, and how they are shown.

**Policy** (``"protect"``, the default): every item delivered to a slot, and every submitted
job's data, gets its *own* object for each top-level value that is a pandas ``DataFrame``
or ``Series`` or a numpy ``ndarray``, so a routine mutating its input in place never
changes the emitter's data, the user's original, or what a sibling routine on another
connection received:

* a DataFrame/Series is copied lazily (pandas copy-on-write, always on from pandas 3): O(1)
  in its size, the data is copied only by whichever side writes to it; every side may
  mutate its own frame freely;
* an ndarray arrives as a **read-only view** (O(1), no memory): writing to it raises
  ``ValueError: assignment destination is read-only`` (the convention of pandas 3's own
  ``to_numpy()``); ``arr = arr.copy()`` gives a writable array. An emitter that reuses a
  buffer after emitting it must emit ``buf.copy()``.

``"copy"`` gives every slot a full, writable copy of each array instead (costly for large
arrays: time and memory per queued item); ``"share"`` passes the same objects on (the
fastest; for routines that never mutate their inputs). Figures:
``benchmarks/bench_payloads.py``. Other values (dicts, lists, objects) are always passed by
reference; frames nested deeper (e.g. a list of frames) are not protected.

Items holding none of these types pass through untouched: the check is one dict look-up of
each value's exact type, and pandas/numpy are never imported here (their types are found in
``sys.modules`` once the user imported them).

**Summaries**: :func:`describe` turns a frame, Series or array into a
:class:`PayloadSummary` (``DataFrame 50×15``, ``ndarray float64 (100, 3)``) that traces,
reprs and widgets show instead of a repr string; ``.head()`` gives the data on demand.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = [
    "PAYLOAD_POLICIES",
    "PayloadSummary",
    "describe",
    "owned",
    "parse_cell",
    "payload_policy",
    "set_payload_policy",
    "summary_details",
    "summary_text",
    "with_cell",
]

PAYLOAD_POLICIES = ("protect", "copy", "share")
_policy = "protect"
#: exact type -> what a slot gets instead of it, for the libraries imported so far
_copiers: dict[type, Callable[[Any], Any]] = {}
_found: set[str] = set()
#: False under "share": owned() returns at once
_active = True
#: how many modules were imported when the libraries were last looked for (a new import
#: may be numpy or pandas: they are looked for again only then)
_modules = sys.modules
_seen = -1
_MAX_DTYPES = 200


def payload_policy() -> str:
    """The current payload policy: ``"protect"`` (default), ``"copy"`` or ``"share"``."""
    return _policy


def set_payload_policy(policy: str) -> str:
    """Set the process-wide payload policy (see the module docstring); returns the old one."""
    global _policy, _active
    if policy not in PAYLOAD_POLICIES:
        raise ValueError(
            f"unknown payload policy {policy!r}; choose one of {', '.join(PAYLOAD_POLICIES)}"
        )
    old, _policy = _policy, policy
    _active = policy != "share"
    _copiers.clear()
    _found.clear()
    _refresh()
    return old


def _pandas_copier(pd: Any) -> Callable[[Any], Any]:
    major = int(str(getattr(pd, "__version__", "0")).split(".", 1)[0] or 0)
    cow = major >= 3
    if not cow:
        try:
            cow = bool(pd.get_option("mode.copy_on_write"))
        except Exception:  # an old pandas without the option: copy the data
            cow = False
    if cow:
        return lambda v: v.copy(deep=False)  # a lazy copy: copy-on-write guards both sides
    return lambda v: v.copy(deep=True)


def _read_only(array: Any) -> Any:
    view = array.view()
    view.flags.writeable = False
    return view


def _refresh() -> dict[type, Callable[[Any], Any]]:
    """Register the frame/array types of the libraries imported so far."""
    global _seen
    _seen = len(_modules)
    if "numpy" not in _found:
        np = sys.modules.get("numpy")
        if np is not None and hasattr(np, "ndarray"):
            _copiers[np.ndarray] = np.ndarray.copy if _policy == "copy" else _read_only
            _found.add("numpy")
    if "pandas" not in _found:
        pd = sys.modules.get("pandas")
        if pd is not None and hasattr(pd, "DataFrame") and hasattr(pd, "Series"):
            copier = _pandas_copier(pd)
            _copiers[pd.DataFrame] = copier
            _copiers[pd.Series] = copier
            _found.add("pandas")
    return _copiers


def owned(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` itself when no value is a DataFrame, Series or ndarray (or the policy is
    ``share``); else a new dict whose frames are copies and arrays read-only views (or
    copies, under ``copy``): see the module docstring."""
    if _active:
        copiers = _copiers if len(_found) == 2 or len(_modules) == _seen else _refresh()
        if copiers:  # none while neither numpy nor pandas is imported
            for value in item.values():
                if type(value) in copiers:
                    return _copied(item, copiers)
    return item


def _copied(item: dict[str, Any], copiers: dict[type, Callable[[Any], Any]]) -> dict[str, Any]:
    out = {}
    for key, value in item.items():
        copier = copiers.get(type(value))
        out[key] = value if copier is None else copier(value)
    return out


class PayloadSummary:
    """What a trace, a repr or a widget shows of a DataFrame, Series or array.

    ``str()`` is the one-line summary (``DataFrame 50×15``); :meth:`to_dict` the JSON form
    (``{"__type__", "summary", "shape", "dtypes" | "dtype"}``); :meth:`head` the first rows
    of the value itself, which the summary keeps a reference to (``.value``).
    """

    __slots__ = ("dtypes", "kind", "name", "shape", "value")

    def __init__(
        self, kind: str, shape: tuple[int, ...], dtypes: Any, value: Any, name: Any = None
    ) -> None:
        self.kind = kind
        self.shape = shape
        #: ``{column: dtype}`` for a DataFrame, the dtype text for a Series or array
        self.dtypes = dtypes
        self.value = value
        self.name = name

    @property
    def text(self) -> str:
        if self.kind == "DataFrame":
            return f"DataFrame {self.shape[0]}×{self.shape[1]}"
        named = f" {self.name!r}" if self.kind == "Series" and self.name is not None else ""
        return f"{self.kind}{named} {self.dtypes} {self.shape}"

    def head(self, n: int = 5) -> Any:
        """The first ``n`` rows (a DataFrame/Series) or entries (an array) of the value."""
        value = self.value
        return value.head(n) if hasattr(value, "head") else value[:n]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"__type__": self.kind, "summary": self.text}
        out["shape"] = list(self.shape)
        if self.kind == "DataFrame":
            out["dtypes"] = self.dtypes
        else:
            out["dtype"] = self.dtypes
        if self.kind == "Series":
            out["name"] = None if self.name is None else str(self.name)
        return out

    def _repr_html_(self) -> str:
        import html

        head = self.head()
        body = head._repr_html_() if hasattr(head, "_repr_html_") else html.escape(repr(head))
        return f"<div><b>{html.escape(self.text)}</b></div>{body}"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def describe(value: Any) -> PayloadSummary | None:
    """The summary of a pandas DataFrame/Series or numpy array, else ``None``."""
    cls = type(value)
    module = cls.__module__
    if module.startswith("pandas"):
        name = cls.__name__
        if name == "DataFrame":
            dtypes = {str(c): str(t) for c, t in list(value.dtypes.items())[:_MAX_DTYPES]}
            return PayloadSummary("DataFrame", tuple(map(int, value.shape)), dtypes, value)
        if name == "Series":
            shape = tuple(map(int, value.shape))
            return PayloadSummary("Series", shape, str(value.dtype), value, value.name)
    elif module.startswith("numpy") and getattr(value, "ndim", False) and hasattr(value, "dtype"):
        shape = tuple(map(int, value.shape))
        return PayloadSummary(cls.__name__, shape, str(value.dtype), value)
    return None


def _is_summary(value: Any) -> bool:
    return isinstance(value, dict) and "__type__" in value and "summary" in value


def summary_text(value: Any) -> str:
    """Compact text of summarized data (what traces carry): a frame or array summary as its
    one line (``DataFrame 50×15``), dicts as ``{key: value, ...}``, strings quoted."""
    if isinstance(value, PayloadSummary):
        return value.text
    if _is_summary(value):
        return str(value["summary"])
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {summary_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(summary_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)


def summary_details(value: Any) -> str | None:
    """The dtypes of each frame or array summary among ``value``'s top-level items (one line
    each, e.g. ``df: DataFrame 50×15 (x: float64, name: str)``), or ``None`` when it has none."""
    items = value.items() if isinstance(value, dict) and not _is_summary(value) else [("", value)]
    lines = []
    for key, item in items:
        if isinstance(item, PayloadSummary):
            item = item.to_dict()
        if not _is_summary(item):
            continue
        dtypes = item.get("dtypes")
        kinds = (
            ", ".join(f"{c}: {t}" for c, t in dtypes.items())
            if isinstance(dtypes, dict)
            else item.get("dtype")
        )
        lines.append(
            f"{key}: {item['summary']} ({kinds})" if key else f"{item['summary']} ({kinds})"
        )
    return "\n".join(lines) or None


def _column_position(frame: Any, column: Any) -> int:
    columns = list(frame.columns)
    if column in columns:
        return columns.index(column)
    by_text = [i for i, c in enumerate(columns) if str(c) == str(column)]
    if len(by_text) == 1:  # a label that came back as text (e.g. from JSON)
        return by_text[0]
    shown = ", ".join(map(repr, columns[:20])) + (", ..." if len(columns) > 20 else "")
    raise KeyError(f"no column {column!r}; the columns are {shown}")


def with_cell(obj: Any, row: int, column: Any, value: Any) -> Any:
    """A copy of the DataFrame, Series or array ``obj`` with one cell set: ``row`` is the
    row position (0-based), ``column`` a DataFrame's column label (a 2-D array's column
    position; ignored for a Series or 1-D array). Values the column's dtype cannot hold are
    refused with a ``ValueError`` naming the dtype; nothing is changed then."""
    summary = describe(obj)
    if summary is None:
        raise TypeError(f"{type(obj).__name__} has no cells: only a DataFrame, Series or array")
    rows = summary.shape[0]
    if isinstance(row, bool) or not isinstance(row, int) or not 0 <= row < rows:
        raise IndexError(f"row {row!r} is out of range: the {summary.text} has rows 0..{rows - 1}")
    copy = obj.copy()
    try:
        if summary.kind == "DataFrame":
            j = _column_position(obj, column)
            where = f"column {obj.columns[j]!r} ({obj.dtypes.iloc[j]})"
            copy.iloc[row, j] = value
        elif summary.kind == "Series":
            where = f"the Series ({obj.dtype})"
            copy.iloc[row] = value
        elif len(summary.shape) == 2:
            where = f"the array ({obj.dtype})"
            copy[row, int(column)] = value
        else:
            where = f"the array ({obj.dtype})"
            copy[row] = value
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"cannot put {value!r} into {where}: {exc}") from None
    return copy


def parse_cell(text: str, dtype: str) -> Any:
    """The value a cell edit typed as ``text`` means for a column of ``dtype`` (its name as
    pandas/numpy spell it): numbers for numeric columns (empty, ``nan`` or ``null`` is a
    missing value), ``true``/``false`` for booleans, the text itself otherwise."""
    text = text.strip()
    if dtype.startswith(("float", "int", "uint", "Int", "UInt", "Float", "bool", "boolean")):
        if text.lower() in ("", "nan", "null", "none", "na", "<na>"):
            return None
        if dtype.lower().startswith("bool"):
            if text.lower() in ("true", "1"):
                return True
            if text.lower() in ("false", "0"):
                return False
            raise ValueError(f"{text!r} is not a boolean: type true or false")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number (the column is {dtype})") from None
        return (
            int(number)
            if dtype.lower().startswith(("int", "uint")) and number.is_integer()
            else number
        )
    if dtype.startswith("datetime64"):
        pd = sys.modules.get("pandas")
        return None if text == "" else pd.Timestamp(text) if pd is not None else text
    return text
