"""A tiny loopback HTTP endpoint that delivers widget clicks while the kernel is blocked.

Used where the comm cannot reach Python during a blocking cell (no kernel subshells: see
:mod:`._clicks`). Started on demand, once per kernel process, when a widget with buttons is
created inside a running ipykernel (``ROUTILUX_NB_DIRECT_CLICKS=0`` turns it off).

- Binds ``127.0.0.1`` on a free port; a daemon thread serves it (stdlib ``http.server``).
- Every request needs the per-process token in the ``X-Routilux-Token`` header; the
  widget receives it, with the port and its model id, in its ``_direct`` trait.
- CORS: the request's ``Origin`` is echoed only when it is a loopback page (or a VS Code
  webview); there is no wildcard. Behind JupyterHub/Binder the front end posts through
  jupyter-server-proxy (``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``), same origin.

``POST /routilux/click`` with ``{"model_id": ..., "content": {...}}`` runs the widget's
``_on_msg_<type>`` handler on the request's thread and answers ``{"ok": true, "text": ...}``.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import threading
import weakref
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ._clicks import dispatch

__all__ = ["PATH", "TOKEN_HEADER", "ClickEndpoint", "direct_info", "endpoint"]

PATH = "/routilux/click"
TOKEN_HEADER = "X-Routilux-Token"
MAX_BODY = 1 << 20
_LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def allowed_origin(origin: str | None) -> bool:
    """Whether a cross-origin page may read our answers: loopback pages and VS Code webviews."""
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme == "vscode-webview":
        return True
    return parts.scheme in ("http", "https") and (parts.hostname or "") in _LOOPBACK_HOSTS


class _Handler(BaseHTTPRequestHandler):
    server_version = "routilux-clicks/1"
    endpoint: ClickEndpoint  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        return  # never into a notebook's output

    def _answer(self, status: int, body: dict[str, Any] | None = None) -> None:
        data = b"" if status == 204 else json.dumps(body or {}).encode()
        self.send_response(status)
        origin = self.headers.get("Origin")
        if allowed_origin(origin):
            self.send_header("Access-Control-Allow-Origin", origin or "")
            self.send_header("Vary", "Origin")
        if self.command == "OPTIONS":
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", f"Content-Type, {TOKEN_HEADER}")
            self.send_header("Access-Control-Max-Age", "600")
            if self.headers.get("Access-Control-Request-Private-Network") == "true":
                self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, text: str) -> None:
        self._answer(status, {"ok": False, "error": text})

    def do_OPTIONS(self) -> None:
        self._answer(204 if self.path == PATH else 404)

    def do_GET(self) -> None:
        self._error(405, f"use POST {PATH} with a JSON body {{model_id, content}}")

    def do_POST(self) -> None:
        if self.path != PATH:
            self._error(404, f"unknown path {self.path[:100]!r}: POST to {PATH}")
            return
        given = self.headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self.endpoint.token.encode()):
            self._error(401, f"missing or wrong {TOKEN_HEADER} header: send the widget's token")
            return
        try:
            length = int(self.headers.get("Content-Length") or "0")
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._error(
                413 if length > MAX_BODY else 400,
                f"send a JSON body of 1 to {MAX_BODY} bytes with a Content-Length",
            )
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError as exc:
            self._error(400, f"the body is not JSON ({exc}): send {{model_id, content}}")
            return
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("model_id"), str)
            or not isinstance(body.get("content"), dict)
        ):
            self._error(400, 'the body must be {"model_id": str, "content": {"type": str, ...}}')
            return
        widget = self.endpoint.widget(body["model_id"])
        if widget is None:
            self._error(404, f"no open widget {body['model_id'][:64]!r} in this kernel")
            return
        try:
            outcome = dispatch(widget, body["content"], via="http")
        except Exception as exc:  # a failing handler must answer, not drop the connection
            self._error(409, f"{type(exc).__name__}: {exc}")
            return
        self._answer(200 if outcome["ok"] else 400, outcome)


class ClickEndpoint:
    """The loopback server and the widgets it can reach (weakly held)."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)
        self._widgets: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        return self._server.server_address[1] if self._server is not None else None

    def start(self) -> int:
        """Serve on a free loopback port (idempotent); returns the port."""
        with self._lock:
            if self._server is None:
                handler = type("ClickHandler", (_Handler,), {"endpoint": self})
                server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
                server.daemon_threads = True
                self._thread = threading.Thread(
                    target=server.serve_forever, name="routilux-clicks", daemon=True
                )
                self._server = server
                self._thread.start()
            return self._server.server_address[1]

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def register(self, model_id: str, widget: Any) -> None:
        self._widgets[model_id] = widget

    def widget(self, model_id: str) -> Any:
        widget = self._widgets.get(model_id)
        return widget if widget is not None and getattr(widget, "comm", None) is not None else None


_endpoint: ClickEndpoint | None = None
_endpoint_lock = threading.Lock()


def endpoint() -> ClickEndpoint:
    """The process's endpoint object (not started until :meth:`ClickEndpoint.start`)."""
    global _endpoint
    with _endpoint_lock:
        if _endpoint is None:
            _endpoint = ClickEndpoint()
        return _endpoint


def _in_kernel() -> bool:
    try:
        from ipykernel.kernelbase import Kernel
    except ImportError:
        return False
    return Kernel.initialized()


def direct_info(widget: Any) -> dict[str, Any]:
    """The ``_direct`` trait for ``widget``: where its front end may post clicks, or ``{}``."""
    if os.environ.get("ROUTILUX_NB_DIRECT_CLICKS", "1") == "0" or not _in_kernel():
        return {}
    model_id = getattr(widget, "model_id", None)
    if not model_id:
        return {}
    ep = endpoint()
    port = ep.start()
    ep.register(model_id, widget)
    info: dict[str, Any] = {"port": port, "token": ep.token, "model_id": model_id}
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        info["proxy"] = f"{prefix.rstrip('/')}/proxy/{port}{PATH}"
    return info
