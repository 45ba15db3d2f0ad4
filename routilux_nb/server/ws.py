"""WebSocket monitors: every event of a job, worker, flow or the whole runtime, live.

Each connection owns a monitor bus :class:`~routilux_nb.monitor.bus.Subscription`, so every
client gets every event it subscribed to, numbered by ``seq``; ``?since=<seq>`` replays what
the bus still retains. A client that cannot keep up (more than ``throttle_threshold`` events
pending) or that asks ``?mode=snapshot`` gets a coalesced ``snapshot`` of the state at most
``snapshot_hz`` times a second with a ``dropped`` count instead of every event.

Client commands: ``subscribe`` / ``unsubscribe`` (``data``: ``job_id``, ``worker_id``,
``flow_id`` as a string or list, ``event_types``; see :mod:`.ws_subscriptions`),
``get_status``, ``ping``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket

from routilux_nb.monitor.trace import bus_message

from .ws_debug import debug_socket
from .ws_protocol import (
    CLOSE_BAD_REQUEST,
    CLOSE_NOT_FOUND,
    NOT_FOUND_CODES,
    lookup,
    setting,
)
from .ws_subscriptions import Subscriptions

__all__ = ["MonitorConnection", "router"]

router = APIRouter(tags=["websocket"])


def trace_message(rec: tuple[Any, ...], job: Any) -> dict[str, Any]:
    """A job trace record in the shape of a bus message."""
    return bus_message(rec, job.worker_id, job.flow_id)


class MonitorConnection(Subscriptions):
    """A monitor socket: subscription, filters, event or snapshot mode."""

    def __init__(self, websocket: WebSocket, scope: tuple[str, str] | None) -> None:
        super().__init__(websocket)
        self.scope = scope
        #: ids this client follows ({kind: {ids}}); ``None`` follows everything
        self.interest: dict[str, set[str]] | None = {scope[0]: {scope[1]}} if scope else None
        self.types: set[str] | None = None
        self.mode = "events"
        self.forced_snapshot = False
        self.reported_missed = 0
        self.dropped = 0
        self.dropped_total = 0
        self.sent_seq = 0
        self.window_start = time.monotonic()
        self.window_count = 0
        self.snapshot_due = 0.0
        self.last_snapshots: dict[str, Any] = {}
        self.backlog: deque[dict[str, Any]] = deque()
        self.replayed: set[int] = set()

    # -- setup ------------------------------------------------------------------------------
    async def setup(self) -> bool:
        if self.scope is not None and lookup(self.runtime, *self.scope) is None:
            kind, ident = self.scope
            await self.fail(
                NOT_FOUND_CODES[kind], f"no {kind[:-3]} {ident!r}", CLOSE_NOT_FOUND, **{kind: ident}
            )
            return False
        params = self.ws.query_params
        since: int | None = None
        if params.get("since") not in (None, ""):
            try:
                since = int(params["since"])
            except ValueError:
                await self.fail(
                    "INVALID_PARAMETER", "since must be an integer seq", CLOSE_BAD_REQUEST
                )
                return False
        mode = params.get("mode", "events")
        if mode not in ("events", "snapshot"):
            await self.fail(
                "INVALID_PARAMETER", "mode must be 'events' or 'snapshot'", CLOSE_BAD_REQUEST
            )
            return False
        self.sub = self.monitor.subscribe(since=since)
        self._apply_filter()
        await self.established(scope=self._scope_dict(), mode=mode)
        if since is not None:
            missed = (
                self._replay_job_trace(since)
                if self.scope and self.scope[0] == "job_id"
                else self.sub.missed
            )
            self.reported_missed = self.sub.missed
            await self.send(
                "resumed",
                {
                    "missed": missed,
                    "from_seq": since,
                    "replayed": len(self.backlog) + self.sub.pending(),
                },
            )
        if mode == "snapshot":
            self.forced_snapshot = True
            await self._switch("snapshot", "requested")
        return True

    def _replay_job_trace(self, since: int) -> int:
        """Queue the job's events after ``since`` from its trace (which keeps events recorded
        while nobody listened) merged with the bus replay; the number of events lost."""
        job = self.runtime.get_job(self.scope[1])  # type: ignore[index]
        replay = {m["seq"]: m for m in self.sub.drain(1_000_000) if self.wants(m)}
        trace = job.monitor.trace
        records = trace.records(since=since)
        for rec in records:
            if rec[0] not in replay:
                msg = trace_message(rec, job)
                if self.wants(msg):
                    replay[rec[0]] = msg
        self.backlog = deque(replay[k] for k in sorted(replay))
        self.replayed = set(replay)
        evicted = trace.total - len(trace)
        return evicted if evicted and (not records or records[0][0] > since + 1) else 0

    def _scope_dict(self) -> dict[str, str] | None:
        return {self.scope[0]: self.scope[1]} if self.scope else None

    # -- status -----------------------------------------------------------------------------
    async def status(self, data: dict[str, Any]) -> None:
        ids = await self._ids(data)
        if ids is None:
            return
        if not ids and self.scope is not None:
            ids = {self.scope[0]: [self.scope[1]]}
        out: dict[str, Any] = await anyio.to_thread.run_sync(self._status, ids)
        out["connection"] = {
            "client_id": self.client_id,
            "mode": self.mode,
            "last_seq": self.sent_seq,
            "pending": self.sub.pending(),
            "missed": self.sub.missed,
            "dropped": self.dropped_total,
            **self.subscriptions(),
        }
        await self.send("status", out)

    def _status(self, ids: dict[str, list[str]]) -> dict[str, Any]:
        rt = self.runtime
        out: dict[str, Any] = {}
        for ident in ids.get("job_id", []):
            job = rt.get_job(ident)
            out.setdefault("jobs", {})[ident] = {
                **job.to_dict(include_data=False),
                "routines": self.monitor.job_routine_status(job),
            }
        for ident in ids.get("worker_id", []):
            out.setdefault("workers", {})[ident] = rt.get_worker(ident).to_dict()
        for ident in ids.get("flow_id", []):
            workers = [w.to_dict() for w in list(rt.workers.values()) if w.flow_id == ident]
            out.setdefault("flows", {})[ident] = {
                "flow_id": ident,
                "workers": workers,
                "metrics": self.monitor.flow_metrics(ident),
            }
        if not ids:
            workers = list(rt.workers.values())
            out["runtime"] = {
                "flows": len(rt.flows),
                "workers": {w.worker_id: w.status for w in workers},
                "active_jobs": sum(len(w.active_jobs) for w in workers),
                "closed": rt.closed,
            }
        return out

    # -- events and snapshots ---------------------------------------------------------------
    async def _switch(self, mode: str, reason: str) -> None:
        self.mode = mode
        self.window_start, self.window_count, self.snapshot_due = time.monotonic(), 0, 0.0
        await self.send("mode", {"mode": mode, "reason": reason, "pending": self.sub.pending()})

    async def pump(self) -> bool:
        """Forward what the subscription holds; true if anything was taken from it."""
        missed = self.sub.missed - self.reported_missed
        if missed:
            self.reported_missed = self.sub.missed
            if self.mode == "events":
                await self.send("dropped", {"count": missed, "reason": "queue_overflow"})
            else:
                self.dropped += missed
        if self.mode == "events" and self.sub.pending() > setting(self.app, "throttle_threshold"):
            await self._switch("snapshot", "backlog")
        if self.mode == "events":
            batch = self._take(500)
            for msg in batch:
                if self.wants(msg):
                    self.sent_seq = msg["seq"]
                    await self.send("event", msg, seq=msg["seq"])
            return bool(batch)
        return await self._pump_snapshots()

    def _take(self, n: int) -> list[dict[str, Any]]:
        """The next messages: the replay backlog first, then the subscription (no repeats)."""
        if self.backlog:
            return [self.backlog.popleft() for _ in range(min(n, len(self.backlog)))]
        batch = self.sub.drain(n)
        return [m for m in batch if m["seq"] not in self.replayed] if self.replayed else batch

    async def _pump_snapshots(self) -> bool:
        batch = self._take(1_000_000)
        wanted = [m for m in batch if self.wants(m)]
        if wanted:
            self.sent_seq = wanted[-1]["seq"]
        self.dropped += len(wanted)
        self.window_count += len(batch)
        mono = time.monotonic()
        if mono >= self.snapshot_due and (wanted or self.snapshot_due == 0.0 or self.dropped):
            self.snapshot_due = mono + 1.0 / setting(self.app, "snapshot_hz")
            await self._send_snapshots()
        if mono - self.window_start >= 1.0:
            calm = self.window_count < setting(self.app, "throttle_threshold") / 10
            self.window_start, self.window_count = mono, 0
            if calm and not self.forced_snapshot:
                await self._switch("events", "caught_up")
        return bool(batch)

    def _targets(self) -> list[tuple[Any, Any]]:
        """(worker, job or None) pairs whose state the snapshots show."""
        rt = self.runtime
        if self.interest is None:
            return [(w, None) for w in list(rt.workers.values()) if w.status != "stopped"][:20]
        out: list[tuple[Any, Any]] = []
        for ident in self.interest.get("job_id", ()):
            job = lookup(rt, "job_id", ident)
            if job is not None:
                out.append((job.worker, job))
        for ident in self.interest.get("worker_id", ()):
            worker = lookup(rt, "worker_id", ident)
            if worker is not None:
                out.append((worker, None))
        flows = self.interest.get("flow_id", set())
        out += [
            (w, None)
            for w in list(rt.workers.values())
            if w.flow_id in flows and w.status != "stopped"
        ]
        return out[:20]

    def _snapshots(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        out = []
        for worker, job in self._targets():
            key = f"{worker.worker_id}/{job.job_id if job else ''}"
            out.append(
                (
                    key,
                    {"worker_id": worker.worker_id, "job_id": job.job_id if job else None},
                    self.monitor.snapshot(worker, job=job),
                )
            )
        return out

    async def _send_snapshots(self) -> None:
        for key, ids, snap in await anyio.to_thread.run_sync(self._snapshots):
            if self.last_snapshots.get(key) == snap and not self.dropped:
                continue
            self.last_snapshots[key] = snap
            await self.send(
                "snapshot",
                {
                    **ids,
                    "snapshot": snap,
                    "dropped": self.dropped,
                    "dropped_total": self.dropped_total + self.dropped,
                },
                seq=self.sent_seq or None,
            )
        self.dropped_total += self.dropped
        self.dropped = 0

    # -- main loop --------------------------------------------------------------------------
    async def tick(self) -> bool:
        return await self.pump()

    def handlers(self) -> dict[str, Any]:
        return {
            "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe,
            "get_status": self.status,
        }


@router.websocket("/ws/events")
async def events_socket(websocket: WebSocket) -> None:
    """Every event of the runtime (narrow it with ``subscribe``)."""
    await MonitorConnection(websocket, None).serve()


@router.websocket("/ws/jobs/{job_id}/monitor")
async def job_socket(websocket: WebSocket, job_id: str) -> None:
    """The events of one job (``?since=0`` replays the retained ones)."""
    await MonitorConnection(websocket, ("job_id", job_id)).serve()


@router.websocket("/ws/workers/{worker_id}/monitor")
async def worker_socket(websocket: WebSocket, worker_id: str) -> None:
    """The events of one worker's jobs and its status changes."""
    await MonitorConnection(websocket, ("worker_id", worker_id)).serve()


@router.websocket("/ws/flows/{flow_id}/monitor")
async def flow_socket(websocket: WebSocket, flow_id: str) -> None:
    """The events of every job of a flow."""
    await MonitorConnection(websocket, ("flow_id", flow_id)).serve()


router.add_api_websocket_route("/ws/jobs/{job_id}/debug", debug_socket)
