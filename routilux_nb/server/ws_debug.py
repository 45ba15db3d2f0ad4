"""The debug socket of a job: its debug session state on every change, and debug actions.

Server messages: ``debug_state`` (:meth:`DebugSession.to_dict`), sent on connect and
whenever it changes; ``action_result`` after an action or a ``set_variable``. Client
messages: ``{"type": "action", "data": {"action": "resume|step_over|step_into|drop"}}``,
``{"type": "set_variable", "data": {"name", "value"}}``, ``get_status``, ``ping``.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
from starlette.websockets import WebSocket

from routilux_nb.core.errors import JobStateError
from routilux_nb.monitor.debug import DEBUG_ACTIONS

from .ws_protocol import CLOSE_NOT_FOUND, Connection, lookup

__all__ = ["DebugConnection", "debug_socket"]

#: recompute the state at least this often even without events (seconds)
_REFRESH = 0.5


class DebugConnection(Connection):
    """A debug socket bound to one job's :class:`~routilux_nb.monitor.debug.DebugSession`."""

    def __init__(self, websocket: WebSocket, job_id: str) -> None:
        super().__init__(websocket)
        self.job_id = job_id
        self.session: Any = None
        self.last_state: dict[str, Any] | None = None
        self.next_refresh = 0.0

    async def setup(self) -> bool:
        job = lookup(self.runtime, "job_id", self.job_id)
        if job is None:
            await self.fail(
                "JOB_NOT_FOUND", f"no job {self.job_id!r}", CLOSE_NOT_FOUND, job_id=self.job_id
            )
            return False
        self.session = self.monitor.debug_session(job)
        self.sub = self.monitor.subscribe(job_id=self.job_id)
        await self.established(scope={"job_id": self.job_id}, actions=list(DEBUG_ACTIONS))
        await self.push_state(force=True)
        return True

    async def push_state(self, force: bool = False) -> None:
        """Send ``debug_state`` if it changed since the last one (or ``force``)."""
        state = await anyio.to_thread.run_sync(self.session.to_dict)
        self.next_refresh = time.monotonic() + _REFRESH
        if force or state != self.last_state:
            self.last_state = state
            await self.send("debug_state", state)

    async def _run_in_thread(self, fn: Any, *args: Any) -> str | None:
        """Run a session call off the event loop; an error code, or ``None`` on success."""
        try:
            await anyio.to_thread.run_sync(fn, *args)
        except JobStateError as exc:
            await self.error("JOB_NOT_PAUSED", str(exc), job_id=self.job_id)
            return "JOB_NOT_PAUSED"
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            await self.error("INVALID_REQUEST", str(msg), job_id=self.job_id)
            return "INVALID_REQUEST"
        return None

    async def action(self, data: dict[str, Any]) -> None:
        name = data.get("action")
        if name not in DEBUG_ACTIONS:
            await self.error(
                "INVALID_ACTION", f"unknown debug action {name!r}", actions=list(DEBUG_ACTIONS)
            )
            return
        if await self._run_in_thread(self.session.act, name) is None:
            await self.send("action_result", {"action": name, "ok": True, "job_id": self.job_id})
            await self.push_state()

    async def set_variable(self, data: dict[str, Any]) -> None:
        name = data.get("name")
        if not isinstance(name, str) or "value" not in data:
            await self.error(
                "INVALID_REQUEST", 'set_variable needs data {"name": str, "value": ...}'
            )
            return
        if await self._run_in_thread(self.session.set_variable, name, data["value"]) is None:
            await self.send(
                "action_result",
                {"action": "set_variable", "name": name, "ok": True, "job_id": self.job_id},
            )
            await self.push_state()

    async def tick(self) -> bool:
        if self.sub.drain(10_000) or time.monotonic() >= self.next_refresh:
            await self.push_state()
        return False

    def handlers(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "set_variable": self.set_variable,
            "get_status": lambda data: self.push_state(force=True),
        }


async def debug_socket(websocket: WebSocket, job_id: str) -> None:
    """Interactive debug session of a job (state on change; resume, step, drop, set variables)."""
    await DebugConnection(websocket, job_id).serve()
