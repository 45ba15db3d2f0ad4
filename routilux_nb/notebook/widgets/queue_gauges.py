"""Queue pressure per slot: a bar, a percentage and a short history sparkline.

The history lives in Python (bounded to ``HISTORY_LENGTH`` points per slot) so
a freshly displayed view shows recent trends, not just the current value. A
point is appended once per distinct snapshot, recognised by its ``seq``, else
its ``time``, else its whole content: applying the same snapshot twice adds
nothing.
"""

from __future__ import annotations

import copy
import pathlib
from collections.abc import Mapping
from typing import Any

import traitlets

from routilux_nb.monitor.types import QueueView, SnapshotUpdate

from ._base import LockedWidget
from ._snapshot import queues_of
from ._static import Picture, queues_picture

__all__ = ["HISTORY_LENGTH", "QueueGauges"]

_HERE = pathlib.Path(__file__).parent
HISTORY_LENGTH = 30


def _identity(snapshot: Mapping[str, Any]) -> Any:
    for key in ("seq", "time"):
        if snapshot.get(key) is not None:
            return (key, snapshot[key])
    return ("content", copy.deepcopy(dict(snapshot)))


class QueueGauges(LockedWidget):
    """One row per slot queue, coloured by pressure level.

    >>> QueueGauges()
    QueueGauges(slots=0)
    """

    _esm = _HERE / "queue_gauges.js"
    _css = _HERE / "queue_gauges.css"

    queues = traitlets.Dict().tag(sync=True)
    history = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last_marker: Any = None

    def __repr__(self) -> str:
        return f"QueueGauges(slots={sum(len(s) for s in self.queues.values())})"

    def picture(self) -> Picture:
        """The static ``(html, png)``: one bar per slot queue."""
        return queues_picture(self.queues)

    def apply_snapshot(self, snapshot: SnapshotUpdate) -> list[str]:
        """Update from a monitor snapshot; returns the names of the traits that changed."""
        if "queues" not in snapshot:
            return []
        with self._lock:
            queues = queues_of(snapshot)
            marker = _identity(snapshot)
            fresh = marker != self._last_marker
            self._last_marker = marker
            values: dict[str, Any] = {"queues": queues}
            if fresh:
                values["history"] = self._extended_history(queues)
            return self._update(**values)

    def _extended_history(
        self, queues: Mapping[str, Mapping[str, QueueView]]
    ) -> dict[str, list[int]]:
        history: dict[str, list[int]] = {}
        for rid, slots in queues.items():
            for slot, q in slots.items():
                key = f"{rid}.{slot}"
                point = q["unconsumed_count"]
                history[key] = [*self.history.get(key, []), point][-HISTORY_LENGTH:]
        return history
