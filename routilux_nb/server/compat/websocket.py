"""``/api/v1/websocket``: the original server's job-event protocol, over the monitor's event bus.

Client messages: ``{"type": "subscribe", "job_id"}``, ``{"type": "unsubscribe", "job_id"}``,
``{"type": "ping"}`` and ``{"type": "pong"}``. Server messages: ``connected``, ``subscribed``
(``job_id``, ``subscriber_id``), ``already_subscribed``, ``unsubscribed``, ``not_subscribed``,
``error`` (``message``), ``ping``/``pong``, and the job's events as
``{"type", "job_id", "timestamp", "seq", "data": {"routine_id", ...}}`` with the original's
names: ``job_started``, ``job_completed``, ``job_failed``, ``routine_started``,
``routine_completed``, ``routine_failed``, ``slot_called``, ``event_emitted``,
``breakpoint_hit`` (other events keep routilux_nb's names). Subscribing to a job first replays
what its trace still holds, so a client that subscribes late misses nothing retained.
A wrong or missing API key closes the socket with code 1008, as the original did.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

from fastapi import APIRouter, WebSocket

from routilux_nb.core import jsonsafe
from routilux_nb.monitor.trace import bus_message

from ..security import api_key_ok
from ..ws_protocol import DISCONNECTS, setting, ws_stats

__all__ = ["original_event", "router"]

router = APIRouter(tags=["websocket"])

CLOSE_POLICY_VIOLATION = 1008
_RENAMES = {
    "job_start": "job_started",
    "routine_start": "routine_started",
    "slot_call": "slot_called",
    "event_emit": "event_emitted",
}
_subscriber_ids = itertools.count(1)


def original_event(msg: dict[str, Any]) -> dict[str, Any]:
    """A bus message in the original's event envelope."""
    etype, status, detail, payload = (
        msg["type"],
        msg.get("status"),
        msg.get("detail"),
        msg.get("data"),
    )
    data: dict[str, Any] = {
        "event_id": f"evt-{msg.get('seq')}",
        "routine_id": msg.get("routine_id"),
        "worker_id": msg.get("worker_id"),
        "flow_id": msg.get("flow_id"),
    }
    name = _RENAMES.get(etype, etype)
    if etype == "job_end":
        name = "job_completed" if status == "completed" else "job_failed"
        data.update(status=status, error=None if status == "completed" else payload)
    elif etype == "routine_end":
        failed = status not in ("ok", "completed", None)
        name = "routine_failed" if failed else "routine_completed"
        data.update(
            status="failed" if failed else "completed",
            duration=msg.get("duration"),
            error=payload if failed else None,
        )
    elif etype == "slot_call":
        data.update(slot_name=detail, data=payload)
    elif etype == "event_emit":
        data.update(
            event_name=detail,
            data=payload,
            data_keys=sorted(payload) if isinstance(payload, dict) else [],
        )
    elif etype == "breakpoint_hit":
        data.update(detail=detail, data=payload, status=status)
        if isinstance(payload, dict):
            data.update(
                {
                    k: v
                    for k, v in payload.items()
                    if k in ("breakpoint_id", "slot_name", "event_name")
                }
            )
    else:
        data.update(detail=detail, data=payload, status=status, duration=msg.get("duration"))
    return {
        "type": name,
        "job_id": msg.get("job_id"),
        "timestamp": msg.get("timestamp"),
        "seq": msg.get("seq"),
        "data": data,
    }


class _Socket:
    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.runtime: Any = ws.app.state.runtime
        self.stats = ws_stats(ws.app)
        self.jobs: dict[str, str] = {}  # job_id -> subscriber_id
        self.replayed: dict[str, set[int]] = {}
        self.sub: Any = None
        self.inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.last_sent = time.monotonic()

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send_text(jsonsafe.dumps(msg))
        self.stats.total_messages += 1
        self.last_sent = time.monotonic()

    async def run(self) -> None:
        await self.ws.accept()
        provided = self.ws.headers.get("x-api-key") or self.ws.query_params.get("api_key")
        if not api_key_ok(provided, getattr(self.ws.app.state, "api_key", None)):
            with contextlib.suppress(*DISCONNECTS):
                await self.send(
                    {"type": "error", "message": "Invalid or missing API key (?api_key=...)"}
                )
                await self.ws.close(CLOSE_POLICY_VIOLATION, "Invalid or missing API key")
            return
        client_id = self.stats.register(self.ws.url.path)
        reader = asyncio.create_task(self._read())
        try:
            await self.send(
                {
                    "type": "connected",
                    "message": 'Connected. Send {"type": "subscribe", "job_id": ...} to receive a job\'s events.',
                }
            )
            await self._loop()
        except DISCONNECTS:
            pass
        finally:
            reader.cancel()
            self.stats.unregister(client_id)
            if self.sub is not None:
                self.sub.close()

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                await self.inbox.put(text or "")
        except DISCONNECTS:
            pass
        finally:
            await self.inbox.put(None)

    async def _loop(self) -> None:
        poll = setting(self.ws.app, "poll_interval")
        ping = setting(self.ws.app, "ping_interval")
        while True:
            wait = poll if self.jobs else ping
            try:
                raw = await asyncio.wait_for(self.inbox.get(), wait)
            except asyncio.TimeoutError:
                raw = ""
            else:
                if raw is None:
                    return
                await self._command(raw)
            if self.sub is not None:
                await self._forward()
            if time.monotonic() - self.last_sent >= ping:
                await self.send({"type": "ping", "timestamp": _now()})

    async def _command(self, raw: str) -> None:
        try:
            msg = json.loads(raw)
        except ValueError:
            await self.send(
                {
                    "type": "error",
                    "message": 'messages must be JSON, e.g. {"type": "subscribe", "job_id": "..."}',
                }
            )
            return
        if not isinstance(msg, dict):
            await self.send(
                {"type": "error", "message": "a message must be a JSON object with a 'type'"}
            )
            return
        kind, job_id = msg.get("type"), msg.get("job_id")
        if kind == "pong":
            return
        if kind == "ping":
            await self.send({"type": "pong", "timestamp": _now()})
        elif kind in ("subscribe", "unsubscribe"):
            if not isinstance(job_id, str) or not job_id:
                await self.send({"type": "error", "message": f"{kind} needs a string 'job_id'"})
            elif kind == "subscribe":
                await self._subscribe(job_id)
            elif self.jobs.pop(job_id, None) is None:
                await self.send({"type": "not_subscribed", "job_id": job_id})
            else:
                self.replayed.pop(job_id, None)
                await self.send({"type": "unsubscribed", "job_id": job_id})
        else:
            await self.send(
                {
                    "type": "error",
                    "message": f"unknown message type {kind!r}; known: subscribe, unsubscribe, ping, pong",
                }
            )

    async def _subscribe(self, job_id: str) -> None:
        if job_id in self.jobs:
            await self.send({"type": "already_subscribed", "job_id": job_id})
            return
        try:
            job = self.runtime.get_job(job_id)
        except KeyError:
            await self.send(
                {"type": "error", "message": f"Job '{job_id}' not found", "job_id": job_id}
            )
            return
        if self.sub is None:
            self.sub = (
                self.runtime.monitor.subscribe()
            )  # before the replay: nothing falls in between
        subscriber_id = f"sub-{next(_subscriber_ids)}"
        self.jobs[job_id] = subscriber_id
        await self.send({"type": "subscribed", "job_id": job_id, "subscriber_id": subscriber_id})
        seen: set[int] = set()
        monitor = getattr(job, "monitor", None)
        if monitor is not None:
            for rec in monitor.trace.records():
                seen.add(rec[0])
                await self.send(original_event(bus_message(rec, job.worker_id, job.flow_id)))
        self.replayed[job_id] = seen

    async def _forward(self) -> None:
        for msg in self.sub.drain(1000):
            job_id = msg.get("job_id")
            if job_id not in self.jobs:
                continue
            seen = self.replayed.get(job_id)
            if seen and msg.get("seq") in seen:
                seen.discard(msg["seq"])
                continue
            await self.send(original_event(msg))


def _now() -> str:
    from routilux_nb.core.clock import iso, now

    return iso(now()) or ""


@router.websocket("/websocket")
async def original_websocket(websocket: WebSocket) -> None:
    """The original server's job-event WebSocket (see the module documentation)."""
    await _Socket(websocket).run()
