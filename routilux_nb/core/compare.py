"""Comparing two runs: what differs between two jobs (``rx.compare(a, b)``, ``a.compare(b)``).

Three things are compared, and only differences are listed (one row each):

* ``activations``: per routine, how many times it ran (from the job's metrics when it is
  monitored, else from its recorded steps);
* ``emitted``: per routine and event, the first payload that differs (``index`` is its
  position among that routine's emits on that event), or the first one only one job emitted;
  from the jobs' traces (bounded rings), so this needs monitoring;
* ``data``: per key of the jobs' final ``data``, values that differ or exist in one job only.

:class:`Comparison` holds the rows: ``.to_pandas()`` / ``.frame`` is a DataFrame with
:data:`COMPARE_COLUMNS`, ``.identical`` says whether nothing differs, ``.notes`` what could not
be compared, and its HTML repr highlights the two sides of every difference.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["COMPARE_COLUMNS", "Comparison", "compare"]

#: columns of :meth:`Comparison.to_pandas`
COMPARE_COLUMNS = [
    "kind",  # "activations", "emitted" or "data"
    "routine",  # routine id (None for data)
    "key",  # event name (emitted), data key (data), None (activations)
    "index",  # Int64: position of the first differing emitted payload, else <NA>
    "a",  # the value in job a (None when missing there: see status)
    "b",  # the value in job b
    "status",  # "differs", "only_a" (missing in b) or "only_b" (missing in a)
]


def _same(x: Any, y: Any) -> bool:
    if x is y:
        return True
    if type(x) is not type(y):
        return False
    equals = getattr(x, "equals", None)  # DataFrames, Series
    if callable(equals):
        try:
            return bool(equals(y))
        except Exception:
            pass
    try:
        result = x == y
        if isinstance(result, bool):
            return result
        every = getattr(result, "all", None)  # numpy arrays
        return bool(every()) if callable(every) else bool(result)
    except Exception:
        return repr(x) == repr(y)


def _activations(job: Any) -> tuple[dict[str, int] | None, str | None]:
    monitor = getattr(job, "monitor", None)
    routines = getattr(monitor, "routines", None)
    if routines is not None:
        return {rid: m.execution_count for rid, m in list(routines.items())}, None
    log = getattr(job, "step_log", None)
    if log is not None:
        counts: dict[str, int] = {}
        for s in log.list():
            counts[s.routine_id] = counts.get(s.routine_id, 0) + 1
        note = None
        if log.dropped:
            note = f"job {job.job_id!r}: activations counted from its steps; {log.dropped} were dropped"
        return counts, note
    return (
        None,
        f"job {job.job_id!r} has neither metrics nor recorded steps: activations not compared",
    )


def _emits(job: Any) -> tuple[dict[tuple[str, str], list[Any]] | None, str | None]:
    trace = getattr(getattr(job, "monitor", None), "trace", None)
    if trace is None:
        return None, (
            f"job {job.job_id!r} has no trace (monitoring off, or loaded from the store): "
            "emitted payloads not compared"
        )
    out: dict[tuple[str, str], list[Any]] = {}
    for r in trace.records():
        if r.event_type == "event_emit" and r.routine_id is not None:
            out.setdefault((r.routine_id, str(r.detail)), []).append(r.payload)
    note = None
    if getattr(trace, "truncated", False):
        note = (
            f"job {job.job_id!r}: its trace was cut to the newest events; older emits not compared"
        )
    return out, note


def compare(a: Any, b: Any) -> Comparison:
    """What differs between jobs ``a`` and ``b`` (live or stored): see the module docstring."""
    rows: list[dict[str, Any]] = []
    notes: list[str] = []

    def row(kind: str, routine: Any, key: Any, index: Any, va: Any, vb: Any, status: str) -> None:
        rows.append(
            {
                "kind": kind,
                "routine": routine,
                "key": key,
                "index": index,
                "a": va,
                "b": vb,
                "status": status,
            }
        )

    (ca, na), (cb, nb) = _activations(a), _activations(b)
    notes += [n for n in (na, nb) if n]
    if ca is not None and cb is not None:
        for rid in sorted(set(ca) | set(cb)):
            x, y = ca.get(rid, 0), cb.get(rid, 0)
            if x != y:
                row("activations", rid, None, None, x, y, "differs")
    (ea, na), (eb, nb) = _emits(a), _emits(b)
    notes += [n for n in (na, nb) if n]
    if ea is not None and eb is not None:
        for rid, event in sorted(set(ea) | set(eb)):
            xs, ys = ea.get((rid, event), []), eb.get((rid, event), [])
            for i in range(max(len(xs), len(ys))):
                if i >= len(xs):
                    row("emitted", rid, event, i, None, ys[i], "only_b")
                elif i >= len(ys):
                    row("emitted", rid, event, i, xs[i], None, "only_a")
                elif not _same(xs[i], ys[i]):
                    row("emitted", rid, event, i, xs[i], ys[i], "differs")
                else:
                    continue
                break
    da, db = dict(a.data or {}), dict(b.data or {})
    for key in sorted(set(da) | set(db), key=str):
        if key not in db:
            row("data", None, key, None, da[key], None, "only_a")
        elif key not in da:
            row("data", None, key, None, None, db[key], "only_b")
        elif not _same(da[key], db[key]):
            row("data", None, key, None, da[key], db[key], "differs")
    return Comparison(a.job_id, b.job_id, rows, notes)


class Comparison:
    """The differences between two jobs (see module docstring)."""

    def __init__(
        self, job_a: str, job_b: str, rows: list[dict[str, Any]], notes: list[str]
    ) -> None:
        self.job_a, self.job_b = job_a, job_b
        #: one dict per difference, keys :data:`COMPARE_COLUMNS`
        self.rows = rows
        #: what could not be compared, and why
        self.notes = notes

    @property
    def identical(self) -> bool:
        """True when nothing that was compared differs."""
        return not self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def to_pandas(self) -> Any:
        """A DataFrame with :data:`COMPARE_COLUMNS` (empty when identical); ``attrs`` has
        ``job_a``, ``job_b``, ``identical`` and ``notes``."""
        import pandas as pd

        frame = pd.DataFrame(
            {
                c: pd.Series([r[c] for r in self.rows], dtype="Int64" if c == "index" else "object")
                for c in COMPARE_COLUMNS
            },
            columns=COMPARE_COLUMNS,
        )
        frame.attrs.update(
            job_a=self.job_a, job_b=self.job_b, identical=self.identical, notes=list(self.notes)
        )
        return frame

    @property
    def frame(self) -> Any:
        return self.to_pandas()

    def to_dict(self) -> dict[str, Any]:
        """``{"job_a", "job_b", "identical", "differences": [row, ...], "notes"}``."""
        return {
            "job_a": self.job_a,
            "job_b": self.job_b,
            "identical": self.identical,
            "differences": [dict(r) for r in self.rows],
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:
        what = "identical" if self.identical else f"{len(self.rows)} differences"
        return f"Comparison(job_a={self.job_a!r}, job_b={self.job_b!r}: {what})"

    def _repr_html_(self) -> str:
        e = html.escape
        head = (
            f"<div style='font-family:sans-serif;font-size:13px'><b>{e(self.job_a)}</b> vs "
            f"<b>{e(self.job_b)}</b>: "
        )
        if self.identical:
            body = "<span style='color:#1a7f37'>identical (no differences)</span>"
        else:
            cell = "style='padding:2px 8px;border-bottom:1px solid #ddd;text-align:left'"
            side = {
                "a": "background:#ffebe9",
                "b": "background:#dafbe1",
            }
            lines = [
                f"{len(self.rows)} differences<table style='border-collapse:collapse'><tr>"
                + "".join(f"<th {cell}>{e(c)}</th>" for c in COMPARE_COLUMNS)
                + "</tr>"
            ]
            for r in self.rows:
                tds = []
                for c in COMPARE_COLUMNS:
                    value = r[c]
                    text = "" if value is None else _short(value)
                    style = side.get(c, "")
                    if c in ("a", "b") and value is None:
                        text, style = "(missing)", "color:#888"
                    tds.append(
                        f"<td style='padding:2px 8px;border-bottom:1px solid #ddd;{style}'>"
                        f"{e(text)}</td>"
                    )
                lines.append("<tr>" + "".join(tds) + "</tr>")
            body = "".join(lines) + "</table>"
        notes = "".join(f"<div style='color:#888'>{e(n)}</div>" for n in self.notes)
        return head + body + notes + "</div>"


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
