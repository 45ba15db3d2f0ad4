"""A live progress bar for :meth:`Worker.map <routilux_nb.core.worker.Worker.map>` runs.

A :class:`~routilux_nb.core.mapping.MapRun` shown as the last line of a cell draws this
widget: a bar of finished / failed / running items and a summary line, updated at most
``max_rate_hz`` times a second from a background thread while the jobs run (also while
another cell awaits the run). Its output also carries the static picture of the moment
(``text/html`` and ``image/png``, see :mod:`..map_view`). Without the notebook extra, or
outside a kernel, the run shows that ``text/html`` and its ``text/plain`` repr instead.

>>> view = map_progress(run)          # doctest: +SKIP
"""

from __future__ import annotations

import pathlib
import threading
import time
from typing import TYPE_CHECKING, Any

import traitlets

from ..map_view import map_html, map_png
from ._base import LockedWidget
from ._static import Picture

if TYPE_CHECKING:
    from routilux_nb.core.mapping import MapRun

__all__ = ["MapProgress", "live_bundle", "map_progress"]

_HERE = pathlib.Path(__file__).parent
_ATTR = "_routilux_progress"
#: seconds between refreshes while nothing is signalled (jobs start running, time passes)
TICK = 0.25


class MapProgress(LockedWidget):
    """The progress of one map run (see the module docstring).

    >>> MapProgress()
    MapProgress(map_id=None, 0/0 finished)
    """

    _esm = _HERE / "map_progress.js"
    _css = _HERE / "map_progress.css"

    state = traitlets.Dict().tag(sync=True)

    def __init__(self, run: MapRun | None = None, *, max_rate_hz: float = 10, **kwargs: Any):
        if max_rate_hz <= 0:
            raise ValueError(f"max_rate_hz must be positive, got {max_rate_hz!r}")
        super().__init__(**kwargs)
        self.run = run
        self.updates = 0  #: trait updates sent (for tests and benchmarks)
        self._interval = 1.0 / max_rate_hz
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._closed = False
        self._thread: threading.Thread | None = None
        if run is not None:
            self.refresh()
            run.add_listener(self._signal)
            self._signal(run)

    def __repr__(self) -> str:
        s = self.state
        return f"MapProgress(map_id={s.get('map_id')!r}, {s.get('finished', 0)}/{s.get('total', 0)} finished)"

    def picture(self) -> Picture:
        """The static ``(html, png)`` of the shown state."""
        return map_html(self.state), map_png(self.state)

    def refresh(self) -> bool:
        """Read the run's state now; true if the view changed."""
        if self.run is None:
            return False
        state = self.run.state()  # plain JSON values (ids, counts, flags, seconds)
        with self._lock:
            if self._update(state=state):
                self.updates += 1
                return True
        return False

    def _signal(self, _run: Any) -> None:
        """A listener of the run: wake the updater (start it if it is not running)."""
        self._wake.set()
        with self._start_lock:
            if self._closed or self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._follow, daemon=True, name="routilux-map-progress"
            )
            self._thread.start()

    def _follow(self) -> None:
        """Refresh on every signal and every :data:`TICK` until the run is done."""
        run = self.run
        assert run is not None
        while not self._closed:
            self._wake.wait(TICK)
            self._wake.clear()
            done = run.done
            self.refresh()
            if done:
                with self._start_lock:  # a signal from now on starts a new updater
                    if self._closed or not self._wake.is_set():
                        self._thread = None
                        return
                continue
            time.sleep(self._interval)  # at most max_rate_hz updates a second
        with self._start_lock:
            self._thread = None

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def close(self) -> None:
        """Stop following the run and close the view."""
        self._closed = True
        if self.run is not None:
            self.run.remove_listener(self._signal)
        self._wake.set()
        super().close()


def map_progress(run: MapRun, *, max_rate_hz: float = 10) -> MapProgress:
    """The live progress view of ``run`` (one per run: the same widget each time)."""
    view: MapProgress | None = getattr(run, _ATTR, None)
    if view is None or view.closed:
        view = MapProgress(run, max_rate_hz=max_rate_hz)
        setattr(run, _ATTR, view)
    return view


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def live_bundle(obj: Any) -> Any:
    """The mimebundle of ``obj``'s live view inside a kernel, else ``None``."""
    from routilux_nb.core.mapping import MapRun

    if not isinstance(obj, MapRun) or not _in_kernel():
        return None
    return map_progress(obj)._repr_mimebundle_()
