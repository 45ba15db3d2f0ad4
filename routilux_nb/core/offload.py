"""Running routine logic on executors outside this process (process pools, Dask, ...).

What runs where
---------------
A runtime given an executor that is not a thread pool sends **only the logic call** out: the
routine (its function and config), the activation's input items and a copy of the job's
``data`` travel to the executor; the logic runs there with a recording ``ctx``; what it
printed, logged (``ctx.log``), emitted and changed in ``data`` comes back and is applied here,
in order, as if the logic had run locally. ``data`` comes back as a diff (keys set, keys
removed), so activations of one job that run at once and touch different keys keep both.

Scheduling, slot queues, activation policies, backpressure, error strategies, timers,
monitoring and breakpoints stay in this process: they need the job's live state, which
lives here, and they are cheap next to the logic. So a breakpoint parks an activation
*before* anything is sent (no remote slot is held while a user inspects it), an emit is
routed (and may hit an event breakpoint) here, and a job's timeout or cancel stops the wait
for remote work at once (the remote call is cancelled if it has not started; a call already
running finishes on its own and its results are discarded).

Serialization is done here, once, with ``cloudpickle`` when installed (Dask brings it), so
functions defined in a notebook run on a process pool too; whatever cannot be pickled
raises :class:`RemotePayloadError` naming the routine and where the value sits.

>>> from concurrent.futures import ProcessPoolExecutor          # doctest: +SKIP
>>> rt = Runtime(executor=ProcessPoolExecutor(2))                # doctest: +SKIP
>>> rt = Runtime(executor=dask_client.get_executor())            # doctest: +SKIP
"""

from __future__ import annotations

import io
import pickle
import sys
import threading
import traceback
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import Any

from . import context as _context
from .errors import RoutiluxError

try:  # pragma: no cover - depends on installed extras
    import cloudpickle as _pickler
except ImportError:  # pragma: no cover
    _pickler = pickle

__all__ = [
    "RemoteContext",
    "RemoteError",
    "RemotePayloadError",
    "RemoteTraceback",
    "call_offloaded",
    "is_remote_executor",
    "run_remote",
]

#: how often a thread waiting on remote work checks whether its job has ended
POLL_INTERVAL = 0.05
_FINISHED = frozenset({"completed", "failed", "cancelled"})


class RemotePayloadError(RoutiluxError, TypeError):
    """Something a routine needs (or produces) cannot cross to or from a remote executor."""


def is_remote_executor(executor: Executor | None) -> bool:
    """True for executors whose tasks may run in another process or machine."""
    return executor is not None and not isinstance(executor, ThreadPoolExecutor)


# -- the remote side -----------------------------------------------------------------------
class _RemoteJob:
    """What ``ctx.job`` is remotely: ids only (``monitor`` is ``None``, so output routers of
    this process leave prints to the capture below)."""

    __slots__ = ("job_id", "monitor")

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.monitor = None


class RemoteContext:
    """The ``ctx`` logic sees on the other side: it records instead of routing."""

    def __init__(
        self,
        routine: Any,
        job_id: str,
        data: dict[str, Any],
        attempt: int,
        worker_id: str | None = None,
        act_id: int | None = None,
    ) -> None:
        self.routine = routine
        self.job = _RemoteJob(job_id)
        self.job_id = job_id
        self.worker_id = worker_id
        self.act_id = act_id
        self.data = data
        self.attempt = attempt
        #: ("print", text) | ("log", message, details) | ("emit", event, payload), in order
        self.effects: list[tuple[Any, ...]] = []
        self.worker = self  # Routine.emit calls act.worker._emit(act, event, payload)

    @property
    def routine_id(self) -> str:
        rid: str = self.routine.routine_id
        return rid

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self.routine.config
        return config

    def emit(self, event: str, payload: Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """As :meth:`ActivationContext.emit`: the item is ``payload`` (a mapping, copied)
        and/or the keyword ``fields``; routed when the result is back in the runtime."""
        self.routine.event(event)  # unknown events fail on the remote side, with their name
        if payload is not None and not isinstance(payload, Mapping):
            raise TypeError(
                f"emit({event!r}, payload): payload must be a mapping such as {{'value': 1}} "
                f"(or pass keyword fields), got {type(payload).__name__}"
            )
        item = dict(payload) if payload is not None else fields
        if payload is not None and fields:
            item.update(fields)
        self.effects.append(("emit", event, item))

    def _emit(self, act: Any, event: str, payload: dict[str, Any]) -> None:
        self.emit(event, payload)

    def log(self, message: str, **details: Any) -> None:
        self.effects.append(("log", message, details))

    def __repr__(self) -> str:
        return f"RemoteContext(routine_id={self.routine_id!r}, job_id={self.job_id!r})"


class _Capture(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of a process running remote logic: text written by a
    thread that runs logic is recorded for its job; other threads write through."""

    def __init__(self, wrapped: Any) -> None:
        self._wrapped = wrapped

    def write(self, text: str) -> int:
        act = getattr(_context._local, "act", None)
        if isinstance(act, RemoteContext):
            if text:
                act.effects.append(("print", text))
            return len(text)
        written: int = self._wrapped.write(text)
        return written

    def flush(self) -> None:
        if not isinstance(getattr(_context._local, "act", None), RemoteContext):
            self._wrapped.flush()

    def writable(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


_capture_lock = threading.Lock()


def _install_capture() -> None:
    if isinstance(sys.stdout, _Capture) and isinstance(sys.stderr, _Capture):
        return
    with _capture_lock:
        if not isinstance(sys.stdout, _Capture) and sys.stdout is not None:
            sys.stdout = _Capture(sys.stdout)
        if not isinstance(sys.stderr, _Capture) and sys.stderr is not None:
            sys.stderr = _Capture(sys.stderr)


def run_remote(
    routine: Any,
    inputs: dict[str, list[dict[str, Any]]],
    job_id: str,
    data: dict[str, Any],
    attempt: int,
    worker_id: str | None = None,
    act_id: int | None = None,
) -> tuple[Any, list[tuple[Any, ...]], dict[str, Any]]:
    """Run the logic with a recording context: returns (result, effects, data)."""
    _install_capture()
    ctx = RemoteContext(routine, job_id, data, attempt, worker_id, act_id)
    prev = getattr(_context._local, "act", None)
    _context._local.act = ctx
    try:
        result = routine._invoke(ctx, inputs)
    finally:
        _context._local.act = prev
    return result, ctx.effects, ctx.data


class _RemoteCall:
    """The callable an executor runs; named after the routine, so a Dask dashboard's task
    stream shows ``routilux-<routine_id>``."""

    def __init__(self, routine_id: str) -> None:
        self.routine_id = routine_id
        self.__name__ = f"routilux-{routine_id}"

    def __dask_tokenize__(self) -> tuple[str, str]:  # cheap, stable task keys on Dask
        return ("routilux-remote-call", self.routine_id)

    def __call__(self, call: bytes, data: bytes) -> bytes:
        """Errors of the logic come back as values (so the executor does not log them as its
        own failures); the local side raises them with the remote traceback as their cause."""
        rid = self.routine_id
        try:
            try:
                routine, inputs, job_id, attempt, worker_id, act_id = pickle.loads(call)
                sent = pickle.loads(data)  # the baseline: logic mutates its own copy below
                working = pickle.loads(data)
            except Exception as exc:
                raise RemotePayloadError(
                    f"routine {rid!r}: the remote side could not unpickle the routine or its "
                    f"inputs ({type(exc).__name__}: {exc}); define its logic in a module the "
                    "executor's processes can import, or install cloudpickle"
                ) from None
            result, effects, new = run_remote(
                routine, inputs, job_id, working, attempt, worker_id, act_id
            )
            changed = {k: v for k, v in new.items() if k not in sent or not _same(sent[k], v)}
            removed = [k for k in sent if k not in new]
            parts = [
                ("the returned value", result),
                ("ctx.data", changed),
                *(
                    (f"emit {e[1]!r} payload" if e[0] == "emit" else f"a {e[0]}", e[-1])
                    for e in effects
                ),
            ]
            return _dumps(("ok", result, effects, changed, removed), rid, "the results", parts)
        except Exception as exc:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            try:
                return _pickle(("error", exc, tb))
            except Exception:  # an exception that does not pickle: its type and message travel
                substitute = RemoteError(f"{type(exc).__module__}.{type(exc).__name__}: {exc}")
                return _pickle(("error", substitute, tb))


class RemoteError(RoutiluxError):
    """Stands for an exception raised remotely that could not be sent back as itself."""


class RemoteTraceback(Exception):
    """The ``__cause__`` of an exception raised remotely: its traceback there, as text."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except Exception:  # e.g. arrays without a truth value: treat as changed
        return False


# -- serialization with errors that say what and where -------------------------------------
def _pickle(obj: Any) -> bytes:
    data: bytes = _pickler.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return data


def _dumps(obj: Any, rid: str, what: str, parts: list[tuple[str, Any]] | None = None) -> bytes:
    try:
        return _pickle(obj)
    except Exception as exc:
        where = what
        for label, part in parts or [(what, obj)]:
            if not _picklable(part):
                where = _unpicklable_path(part, label)
                break
        raise RemotePayloadError(
            f"routine {rid!r} cannot run on a remote executor: {where} cannot be pickled "
            f"({type(exc).__name__}: {exc}). Send plain data (dicts, lists, numbers, strings, "
            "arrays) between routines, or run this flow on a thread-pool runtime"
        ) from None


def _picklable(obj: Any) -> bool:
    try:
        _pickler.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        return True
    except Exception:
        return False


def _unpicklable_path(obj: Any, path: str, depth: int = 0) -> str:
    """The deepest container path whose value does not pickle, e.g. ``input[0]['lock']``."""
    children: list[tuple[str, Any]] = []
    if isinstance(obj, dict):
        children = [(f"{path}[{k!r}]", v) for k, v in obj.items()]
    elif isinstance(obj, (list, tuple)):
        children = [(f"{path}[{i}]", v) for i, v in enumerate(obj)]
    elif hasattr(obj, "__getstate__") and depth == 0:  # a routine: look at its attributes
        state = getattr(obj, "__dict__", {})
        children = [(f"{path}.{k}", v) for k, v in state.items()]
    if depth < 6:
        for child_path, child in children:
            if not _picklable(child):
                return _unpicklable_path(child, child_path, depth + 1)
    return f"{path} (a {type(obj).__name__})"


# -- the local side ------------------------------------------------------------------------
def call_offloaded(
    executor: Executor, act: Any, routine: Any, inputs: dict[str, list[dict[str, Any]]]
) -> Any:
    """Run ``routine``'s logic on ``executor`` and apply what it did to the local activation.

    Returns the logic's return value; returns ``None`` without applying anything when the
    job ended (cancelled, timed out, failed elsewhere) while the remote call ran.
    """
    rid = routine.routine_id
    job = act.job
    call = (routine, inputs, job.job_id, act.attempt, getattr(act, "worker_id", None), act.act_id)
    parts = [("the routine", routine), *inputs.items()]
    call_blob = _dumps(call, rid, "the call", parts)
    data_blob = _dumps(dict(job.data), rid, "ctx.data")
    future = executor.submit(_RemoteCall(rid), call_blob, data_blob)
    if not _wait_remote(future, act):
        job.log(rid, "remote_abandoned", reason=f"job {job.status} while its remote call ran")
        return None
    outcome = pickle.loads(future.result())
    if outcome[0] == "error":
        _, exc, tb = outcome
        exc.__cause__ = RemoteTraceback(tb)
        raise exc
    _, result, effects, changed, removed = outcome
    data = job.data
    for key in removed:
        data.pop(key, None)
    data.update(changed)
    for effect in effects:
        kind = effect[0]
        if kind == "emit":
            act.emit(effect[1], **effect[2])
        elif kind == "print":
            print(effect[1], end="")  # lands in the job's output through the output router
        else:
            act.log(effect[1], **effect[2])
    return result


def _wait_remote(future: Future[Any], act: Any) -> bool:
    """Wait for ``future``; ``False`` (the call cancelled) once the job or its worker ended."""
    job = act.job
    worker = act.worker
    while True:
        done, _ = wait((future,), timeout=POLL_INTERVAL, return_when=FIRST_COMPLETED)
        if done:
            return True
        if job.status in _FINISHED or getattr(worker, "status", None) == "stopped":
            future.cancel()
            return False
