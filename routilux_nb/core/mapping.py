"""Many jobs in one call: :meth:`Worker.map` runs a flow once per parameter set.

``worker.map(params)`` submits one job per item of ``params`` (an iterable of dicts, or a
pandas DataFrame whose rows become dicts), keeping at most ``max_in_flight`` of them
unfinished at a time, and returns a :class:`MapRun`: a handle to wait on (``wait()``,
``await run`` or ``await run.wait_async()``), to follow (``progress``, ``counts``,
:meth:`MapRun.state`, its repr: a live progress bar in a notebook) and to read as one table
(``to_pandas()``). Each item is the payload put into the flow's entry slot, exactly as
``worker.submit(data=item)`` would.

Feeding uses one short-lived thread per run, only when there are more items than
``max_in_flight``; a finished job wakes it through :meth:`JobContext.add_done_callback`, so
nothing polls.

>>> import routilux_nb as rx
>>> flow = rx.Flow("square")
>>> @flow.routine(slots=["input"], events=[])
... def square(input, ctx):
...     ctx.data["y"] = input[0]["x"] ** 2
>>> run = rx.runtime().start(flow).map([{"x": 2}, {"x": 3}])
>>> run.wait().to_pandas()[["x", "status", "data.y"]]
   x     status  data.y
0  2  completed       4
1  3  completed       9
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._mapwatch import FINISHED_STATUSES, NOT_SUBMITTED, MapWatching
from .display import HtmlRepr, bundle_for
from .errors import JobWaitTimeout, RoutiluxError

if TYPE_CHECKING:
    import pandas as pd

    from .job import JobContext
    from .worker import Worker

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "MapRun"]

#: jobs of one run that may be unfinished at once when ``max_in_flight`` is not given
DEFAULT_MAX_IN_FLIGHT = 32
_RESULT_COLUMNS = ("job_id", "status", "duration", "error", "attempts")
_SCALARS = (str, int, float, bool, type(None))
_map_ids = itertools.count(1)


def _as_records(params: Any) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """The items as dicts, and the DataFrame's index labels when ``params`` is a DataFrame."""
    if hasattr(params, "to_dict") and hasattr(params, "columns") and hasattr(params, "index"):
        return list(params.to_dict("records")), list(params.index)
    if isinstance(params, (str, bytes, Mapping)) or not isinstance(params, Iterable):
        raise TypeError(
            f"map() takes an iterable of dicts or a pandas DataFrame, got {type(params).__name__}; "
            "for one job use submit(data=...)"
        )
    records = []
    for i, item in enumerate(params):
        if not isinstance(item, Mapping):
            raise TypeError(f"map() item {i} is a {type(item).__name__}, not a dict of parameters")
        records.append(dict(item))
    return records, None


class MapRun(MapWatching, HtmlRepr):
    """The jobs of one :meth:`Worker.map` call (see the module docstring).

    ``jobs[i]`` is the job of item ``i`` (``None`` until it is submitted); after
    :meth:`retry_failed` it is the newest attempt. ``job_ids`` (one per item) fixes the ids of
    the first attempts, so they are known before the jobs exist; with ``background=True``
    every item is submitted by the feeding thread and the constructor returns at once.
    """

    def __init__(
        self,
        worker: Worker,
        params: Any,
        *,
        max_in_flight: int | None = DEFAULT_MAX_IN_FLIGHT,
        routine_id: str | None = None,
        slot_name: str | None = None,
        timeout: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        job_ids: Sequence[str] | None = None,
        background: bool = False,
    ) -> None:
        if max_in_flight is not None and (not isinstance(max_in_flight, int) or max_in_flight < 1):
            raise ValueError(
                f"max_in_flight must be a positive int or None (no limit), got {max_in_flight!r}"
            )
        self.params, self._index = _as_records(params)
        if job_ids is not None and len(job_ids) != len(self.params):
            raise ValueError(
                f"job_ids has {len(job_ids)} ids for {len(self.params)} items: give one per item"
            )
        self._job_ids = None if job_ids is None else list(job_ids)
        self.worker = worker
        self.map_id = f"map-{next(_map_ids)}"
        self.max_in_flight = max_in_flight
        self.jobs: list[JobContext | None] = [None] * len(self.params)
        self.errors: list[str | None] = [None] * len(self.params)
        self._attempts = [0] * len(self.params)
        self._submit_kw: dict[str, Any] = {
            "routine_id": routine_id,
            "slot_name": slot_name,
            "timeout": timeout,
        }
        self._metadata = dict(metadata or {})
        self._lock = threading.Lock()
        self._unfinished = 0  # submitted and not finished, plus items still to feed
        self._done = threading.Event()
        self._room: threading.Semaphore | None = None
        self._stopped = False
        self._stop_reason = ""
        self._listeners = []
        self.started_at = time.time()
        self._start(range(len(self.params)), background)

    # -- feeding ---------------------------------------------------------------------------
    def _start(self, indexes: Iterable[int], background: bool = False) -> None:
        todo = list(indexes)
        if not todo:
            self._done.set()
            return
        with self._lock:
            self._unfinished += len(todo)
        limit = self.max_in_flight
        first, rest = (todo, []) if limit is None else (todo[:limit], todo[limit:])
        room = self._room = threading.Semaphore(0) if rest else None
        if not background:
            for i in first:
                self._submit_unless_stopped(i)
            first = []
        if first or rest:
            threading.Thread(
                target=self._feed,
                args=(first, rest, room),
                daemon=True,
                name=f"routilux-{self.map_id}",
            ).start()

    def _feed(self, first: list[int], rest: list[int], room: threading.Semaphore | None) -> None:
        for i in first:
            self._submit_unless_stopped(i)
        for i in rest:
            assert room is not None
            room.acquire()
            self._submit_unless_stopped(i)

    def _submit_unless_stopped(self, i: int) -> None:
        if self._stopped:
            self._not_submitted(i, f"not submitted: {self._stop_reason}")
        else:
            self._submit(i)

    def _submit(self, i: int) -> None:
        metadata = {**self._metadata, "map_id": self.map_id, "map_index": i}
        # a given id is used by the first attempt only (a refused attempt may leave its job)
        job_id = None if self._job_ids is None or self.errors[i] else self._job_ids[i]
        try:
            job = self.worker.submit(
                data=self.params[i], metadata=metadata, job_id=job_id, **self._submit_kw
            )
        except RoutiluxError as exc:
            self._not_submitted(i, f"{type(exc).__name__}: {exc}")
            return
        self._track(i, job)

    def _track(self, i: int, job: JobContext) -> None:
        self.jobs[i] = job
        self.errors[i] = None
        self._attempts[i] += 1
        self._notify()
        job.add_done_callback(self._job_done)
        if self._stopped and not job.is_finished:  # cancelled while it was being submitted
            job.cancel(self._stop_reason)

    def _not_submitted(self, i: int, reason: str) -> None:
        self.errors[i] = reason
        self._job_done(None)

    def _job_done(self, _job: JobContext | None) -> None:
        """A job of this run ended (engine lock may be held: signal only)."""
        with self._lock:
            self._unfinished -= 1
            if self._unfinished == 0:
                self._done.set()
        if self._room is not None:
            self._room.release()
        self._notify()

    # -- user API --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.params)

    @property
    def done(self) -> bool:
        """True when every item's job has finished (or could not be submitted)."""
        return self._done.is_set()

    def statuses(self) -> list[str]:
        """Each item's status: a job status, ``pending`` before it is submitted, or ``not_submitted``."""
        out = []
        for job, error in zip(self.jobs, self.errors, strict=True):
            out.append(job.status if job is not None else NOT_SUBMITTED if error else "pending")
        return out

    @property
    def handled(self) -> int:
        """Items whose submission was made: their job exists or was refused."""
        pairs = zip(self.jobs, self.errors, strict=True)
        return sum(1 for job, error in pairs if job is not None or error is not None)

    @property
    def counts(self) -> dict[str, int]:
        """How many items are in each status."""
        return dict(Counter(self.statuses()))

    @property
    def progress(self) -> tuple[int, int]:
        """``(finished, total)``: items whose job ended (or was refused), and all items."""
        finished = sum(1 for s in self.statuses() if s in FINISHED_STATUSES)
        return finished, len(self.params)

    def wait(self, timeout: float | None = None) -> MapRun:
        """Block until every job has finished; raises :class:`JobWaitTimeout` after ``timeout`` s."""
        if not self._done.wait(timeout):
            raise JobWaitTimeout(
                f"{self.map_id}: {self._summary()} after {timeout} s; the jobs keep running"
            )
        return self

    async def wait_async(self, timeout: float | None = None, poll: float = 0.05) -> MapRun:
        """``await run.wait_async()``: like :meth:`wait`, while the event loop (and widgets) keep running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return self.wait(0)
            await asyncio.sleep(poll)
        return self

    def __await__(self) -> Generator[Any, None, MapRun]:
        """``await run`` in a notebook cell: :meth:`wait_async` without a timeout."""
        return self.wait_async().__await__()

    def cancel(self, reason: str = "map run cancelled") -> MapRun:
        """Submit no more items and cancel the unfinished jobs."""
        self._stop_reason = reason
        self._stopped = True
        for i, job in enumerate(self.jobs):
            if job is None and self._job_ids is not None and self.errors[i] is None:
                job = self._submitting(self._job_ids[i])  # its first item may wait for room
            if job is not None and not job.is_finished:
                job.cancel(reason)
        self._notify()
        return self

    def _submitting(self, job_id: str) -> JobContext | None:
        try:
            job: JobContext = self.worker.runtime.get_job(job_id)
        except KeyError:
            return None
        return job

    def retry_failed(self) -> MapRun:
        """Run the failed, cancelled and refused items again, all at once: a failed job from the
        step that failed (:meth:`JobContext.retry`), the others from the entry."""
        again = [
            i
            for i, (job, error) in enumerate(zip(self.jobs, self.errors, strict=True))
            if (job is None and error is not None)
            or (job is not None and job.status in ("failed", "cancelled"))
        ]
        if not again:
            return self
        self._stopped = False
        with self._lock:
            self._unfinished += len(again)
            self._done.clear()
        for i in again:
            old = self.jobs[i]
            if old is None:
                self._submit(i)
                continue
            try:
                self._track(i, old.retry())
            except RoutiluxError as exc:
                self._not_submitted(i, f"{type(exc).__name__}: {exc}")
        return self

    def to_pandas(self, data: bool | Iterable[str] | None = None) -> pd.DataFrame:
        """One row per item: its parameters, ``job_id, status, duration, error, attempts``, then
        ``data.<key>`` columns from each job's ``ctx.data`` — the keys named in ``data``, or
        (by default) every key whose values are scalars; ``data=False`` leaves them out."""
        import pandas as pd

        param_cols = list(dict.fromkeys(k for p in self.params for k in p))
        keys = self._data_keys(data)
        rows = []
        for i, params in enumerate(self.params):
            job = self.jobs[i]
            row: dict[str, Any] = {k: params.get(k) for k in param_cols}
            row.update(
                job_id=None if job is None else job.job_id,
                status=self.statuses()[i],
                duration=None if job is None or not job.is_finished else job.duration,
                error=self.errors[i] if job is None else job.error,
                attempts=self._attempts[i],
            )
            job_data = {} if job is None else job.data
            row.update({f"data.{k}": job_data.get(k) for k in keys})
            rows.append(row)
        columns = [
            *param_cols,
            *(c for c in _RESULT_COLUMNS if c not in param_cols),
            *(f"data.{k}" for k in keys),
        ]
        frame = pd.DataFrame(rows, columns=columns, index=self._index)
        frame["duration"] = pd.to_numeric(frame["duration"])
        return frame

    def _data_keys(self, data: bool | Iterable[str] | None) -> list[str]:
        if data is False:
            return []
        if data is not None and data is not True:
            if isinstance(data, str):
                return [data]
            return list(data)
        keys: dict[str, bool] = {}
        for job in self.jobs:
            for k, v in ({} if job is None else job.data).items():
                keys[k] = keys.get(k, True) and isinstance(v, _SCALARS)
        return [k for k, scalar in keys.items() if scalar]

    def _summary(self) -> str:
        finished, total = self.progress
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
        return f"{finished}/{total} finished ({counts})" if total else "no items"

    def __repr__(self) -> str:
        return f"MapRun(map_id={self.map_id!r}, flow_id={self.worker.flow_id!r}, {self._summary()})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        """A live progress bar in a notebook (with the notebook extra), else ``None``: the
        frontend then shows ``text/html`` and ``text/plain`` with the counts."""
        try:
            return bundle_for(self)
        except Exception:  # a repr must never raise in a notebook: show the static reprs
            return None
