"""The WebSocket message protocol shared by the monitor and debug sockets.

Every server message is ``{"type", "data", "timestamp"}`` (plus ``"seq"`` on events). One
task reads the socket into an inbox; the connection's own loop is the only writer, so
messages never interleave. Closing codes: 4400 bad parameters, 4401 missing or wrong API
key, 4404 unknown job/worker/flow.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any, Literal

from starlette.websockets import WebSocket, WebSocketDisconnect

from routilux_nb.core import jsonsafe
from routilux_nb.core.clock import iso, now

from .security import api_key_ok

__all__ = [
    "CLOSE_BAD_REQUEST",
    "CLOSE_NOT_FOUND",
    "CLOSE_UNAUTHORIZED",
    "DISCONNECTS",
    "NOT_FOUND_CODES",
    "Connection",
    "WsStats",
    "lookup",
    "setting",
    "ws_stats",
]

CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404

#: what a send to a client that went away raises (uvicorn's ``ClientDisconnected`` is an OSError)
DISCONNECTS = (WebSocketDisconnect, OSError, RuntimeError)

#: defaults of the tunables read from ``app.state`` (``ws_<name>``)
DEFAULTS = {
    "ping_interval": 15.0,
    "throttle_threshold": 1000,
    "snapshot_hz": 10.0,
    "poll_interval": 0.02,
}


def setting(app: Any, name: str) -> Any:
    """``app.state.ws_<name>`` or its default (tests shorten the ping interval this way)."""
    return getattr(app.state, f"ws_{name}", DEFAULTS[name])


class WsStats:
    """Connected clients and messages sent, per app (``GET /health/status`` reports them)."""

    def __init__(self) -> None:
        self.clients: dict[int, str] = {}
        self.total_messages = 0
        self.total_connections = 0
        self._ids = itertools.count(1)

    def register(self, path: str) -> int:
        client_id = next(self._ids)
        self.clients[client_id] = path
        self.total_connections += 1
        return client_id

    def unregister(self, client_id: int) -> None:
        self.clients.pop(client_id, None)

    @property
    def connected_clients(self) -> int:
        return len(self.clients)

    def __repr__(self) -> str:
        return (
            f"WsStats(connected_clients={len(self.clients)}, total_messages={self.total_messages})"
        )


def ws_stats(app: Any) -> WsStats:
    """The app's :class:`WsStats`, created on first use."""
    stats = getattr(app.state, "ws_stats", None)
    if stats is None:
        stats = app.state.ws_stats = WsStats()
    return stats


class Connection:
    """One accepted WebSocket: the lifecycle every socket of the API shares.

    :meth:`serve` accepts and checks the key, runs :meth:`setup`, starts the reader, then loops:
    :meth:`tick` (push what is new; true when busy), then the next client command, answered by
    :meth:`handlers` (``ping``/``pong`` and unknown commands are handled here). Whatever happens,
    the subscription (``self.sub``) is closed and the socket finished. Subclasses write only
    ``setup``, ``tick`` and ``handlers``.
    """

    #: the monitor bus subscription of this socket, closed when it ends
    sub: Any = None

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket
        self.app = websocket.app
        self.runtime: Any = websocket.app.state.runtime
        self.monitor: Any = self.runtime.monitor
        self.stats = ws_stats(self.app)
        self.client_id = 0
        self.inbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.last_activity = time.monotonic()
        self.closed = False
        self._reader: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        """The whole life of the socket (see the class docstring)."""
        if not await self.open():
            return
        try:
            if not await self.setup():
                return
            self.start_reader()
            await self._loop()
        except DISCONNECTS:
            self.closed = True  # the client left while we were sending
        finally:
            if self.sub is not None:
                self.sub.close()
            await self.finish()

    async def setup(self) -> bool:
        """Check parameters, subscribe, send ``connection_established``; false to end (closed)."""
        raise NotImplementedError

    async def tick(self) -> bool:
        """Send what is new; true when there was more to do (the loop then does not wait)."""
        raise NotImplementedError

    def handlers(self) -> dict[str, Any]:
        """``{command type: async handler(data)}`` of this socket."""
        raise NotImplementedError

    async def _loop(self) -> None:
        handlers = self.handlers()
        poll = setting(self.app, "poll_interval")
        while True:
            busy = await self.tick()
            if busy:
                await asyncio.sleep(0)  # let other connections and requests run between batches
            cmd = await self.next_command(0 if busy else poll)
            if cmd is None:
                return
            if cmd is False:
                if not busy:
                    await self.idle_ping()
                continue
            kind = cmd["type"]
            if kind == "ping":
                await self.send("pong", {"client_id": self.client_id})
            elif kind == "pong":
                continue
            elif kind in handlers:
                await handlers[kind](cmd["data"])
            else:
                await self.error(
                    "UNKNOWN_COMMAND", f"unknown command {kind!r}", commands=[*handlers, "ping"]
                )

    async def open(self) -> bool:
        """Accept, then check the API key; false (socket closed with 4401) when it is wrong."""
        await self.ws.accept()
        expected = getattr(self.app.state, "api_key", None)
        provided = self.ws.headers.get("x-api-key") or self.ws.query_params.get("api_key")
        if not api_key_ok(provided, expected):
            await self.fail(
                "UNAUTHORIZED",
                "a valid API key is required (?api_key= or X-API-Key)",
                CLOSE_UNAUTHORIZED,
            )
            return False
        self.client_id = self.stats.register(self.ws.url.path)
        return True

    async def send(self, type_: str, data: Any, seq: int | None = None) -> None:
        msg: dict[str, Any] = {"type": type_, "data": data, "timestamp": iso(now())}
        if seq is not None:
            msg["seq"] = seq
        await self.ws.send_text(jsonsafe.dumps(msg))
        self.stats.total_messages += 1
        self.last_activity = time.monotonic()

    async def error(self, code: str, message: str, **details: Any) -> None:
        data: dict[str, Any] = {"error_code": code, "error_message": message}
        if details:
            data["details"] = details
        await self.send("error", data)

    async def fail(self, code: str, message: str, close_code: int, **details: Any) -> None:
        """Send an error message, then close the socket with ``close_code``."""
        try:
            await self.error(code, message, **details)
            await self.ws.close(close_code)
        except Exception:  # the client may already be gone
            pass
        self.closed = True

    def last_seq(self) -> int:
        """The newest seq the monitor's bus has published (0 before any)."""
        seq: int = self.monitor.bus.last_seq
        return seq

    async def established(self, **extra: Any) -> None:
        await self.send(
            "connection_established",
            {
                "client_id": self.client_id,
                "server_time": iso(now()),
                "connected_clients": self.stats.connected_clients,
                "last_seq": self.last_seq(),
                **extra,
            },
        )

    # -- reading ----------------------------------------------------------------------------
    def start_reader(self) -> None:
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                await self.inbox.put({"raw": text})
        except DISCONNECTS:
            pass
        finally:
            await self.inbox.put(None)

    async def next_command(self, timeout: float) -> dict[str, Any] | None | Literal[False]:
        """A parsed client message, ``None`` when the client left, ``False`` when none came."""
        try:
            item = (
                await asyncio.wait_for(self.inbox.get(), timeout)
                if timeout > 0
                else self.inbox.get_nowait()
            )
        except (asyncio.TimeoutError, asyncio.QueueEmpty):
            return False
        if item is None:
            return None
        return await self._parse(item["raw"])

    async def _parse(self, raw: str | None) -> dict[str, Any] | Literal[False]:
        try:
            msg = json.loads(raw or "")
        except ValueError:
            await self.error(
                "INVALID_JSON", 'messages must be JSON objects like {"type": ..., "data": {...}}'
            )
            return False
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await self.error(
                "INVALID_MESSAGE", "a message needs a string 'type' (and an object 'data')"
            )
            return False
        data = msg.get("data")
        if data is None:
            msg["data"] = {}
        elif not isinstance(data, dict):
            await self.error("INVALID_MESSAGE", "'data' must be an object", type=msg["type"])
            return False
        return msg

    async def idle_ping(self) -> None:
        """Send ``{"type": "ping"}`` after ``ping_interval`` seconds without any message."""
        if time.monotonic() - self.last_activity >= setting(self.app, "ping_interval"):
            await self.send("ping", {})

    async def finish(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        self.stats.unregister(self.client_id)
        if not self.closed:
            self.closed = True
            try:
                await self.ws.close()
            except Exception:
                pass


def lookup(runtime: Any, kind: str, ident: str) -> Any:
    """The job, worker or flow called ``ident``, or ``None``."""
    getter = {
        "job_id": runtime.get_job,
        "worker_id": runtime.get_worker,
        "flow_id": runtime.get_flow,
    }[kind]
    try:
        return getter(ident)
    except KeyError:
        return None


NOT_FOUND_CODES = {
    "job_id": "JOB_NOT_FOUND",
    "worker_id": "WORKER_NOT_FOUND",
    "flow_id": "FLOW_NOT_FOUND",
}
