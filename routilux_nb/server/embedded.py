"""Serve a runtime's HTTP API from a background thread of the kernel.

``uvicorn.run()`` cannot run in a notebook cell (the kernel's event loop is running), so the
server runs ``uvicorn.Server.run(sockets=[sock])`` on a daemon thread with a socket bound
here: port 0 picks a free port, and a busy port fails in the caller's thread with a clear
error instead of killing the server thread silently. Re-running the cell returns the server
already running. Behind JupyterHub/Binder the links go through jupyter-server-proxy.

>>> handle = rt.serve()          # doctest: +SKIP
>>> handle.api_url               # doctest: +SKIP
'http://127.0.0.1:38123/api/v1'
>>> handle.stop()                # doctest: +SKIP
"""

from __future__ import annotations

import html
import ipaddress
import os
import socket
import threading
import time
import warnings
from typing import Any

__all__ = ["PortInUseError", "ServerHandle", "ServerStartError", "proxy_prefix", "serve_runtime"]

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class ServerStartError(OSError):
    """The API server could not start."""


class PortInUseError(ServerStartError):
    """The requested port cannot be bound (another process, or another server, holds it)."""


def proxy_prefix(port: int) -> str | None:
    """``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}`` when running under JupyterHub/Binder."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if not prefix:
        return None
    return f"{prefix.rstrip('/')}/proxy/{port}"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUseError(
            exc.errno,
            f"cannot serve on {host}:{port}: {exc.strerror or exc}; "
            "choose another port or port=0 for a free one",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class ServerHandle:
    """A running API server: its URLs, ``stop()``, and a link when displayed in a notebook."""

    def __init__(
        self,
        server: Any,
        thread: threading.Thread,
        sock: socket.socket,
        host: str,
        port: int,
        runtime: Any = None,
        public_prefix: str | None = None,
    ) -> None:
        self._server = server
        self._thread = thread
        self._sock = sock
        self._runtime = runtime
        self.host = host
        self.port = port
        self.public_prefix = public_prefix
        self._stopped = False
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"

    @property
    def link(self) -> str:
        """What a browser opens: the proxied path under JupyterHub/Binder, else :attr:`url`."""
        return f"{self.public_prefix}/" if self.public_prefix else f"{self.url}/"

    @property
    def running(self) -> bool:
        return not self._stopped and self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port (idempotent)."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._sock.close()
        if self._runtime is not None and self._runtime.server is self:
            self._runtime.server = None

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ServerHandle(url={self.url!r}, running={self.running})"

    def _repr_html_(self) -> str:
        base = html.escape(self.link.rstrip("/"))
        state, colour = ("running", "#1a7f37") if self.running else ("stopped", "#8a8a8a")
        link = "color:#0969da;text-decoration:underline;margin-right:12px"
        return (
            '<div style="font-family:system-ui,sans-serif;font-size:13px;padding:6px 10px;'
            'border:1px solid #d0d7de;border-radius:6px;display:inline-block">'
            f'<b>Routilux API</b> <span style="color:{colour}">● {state}</span> '
            f'<code style="margin:0 10px">{html.escape(self.url)}</code>'
            f'<a style="{link}" href="{base}/api/v1/health" target="_blank">API</a>'
            f'<a style="{link}" href="{base}/docs" target="_blank">/docs</a>'
            f'<a style="{link}" href="{base}/metrics" target="_blank">/metrics</a>'
            "</div>"
        )


def serve_runtime(
    runtime: Any,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    api_key: str | None = None,
    log_level: str = "warning",
    allow_remote: bool = False,
    app: Any = None,
    start_timeout: float = 10.0,
    **app_options: Any,
) -> ServerHandle:
    """Serve ``runtime``'s API on a daemon thread; the running server is returned if there is one.

    A host other than loopback needs ``allow_remote=True`` (and warns without ``api_key``).
    ``app`` replaces the default ``create_app(runtime, ...)``; ``app_options`` go to it.
    """
    current: ServerHandle | None = runtime.server
    if current is not None and current.running:
        return current
    if not _is_loopback(host):
        if not allow_remote:
            raise ValueError(
                f"host {host!r} is not loopback: pass allow_remote=True to expose the API "
                "to other machines (and set api_key)"
            )
        if api_key is None:
            warnings.warn(
                f"serving on {host} without an api_key: anyone who reaches this port "
                "controls the runtime",
                stacklevel=2,
            )
    import uvicorn

    sock = _bind(host, port)
    bound_port = int(sock.getsockname()[1])
    prefix = proxy_prefix(bound_port)
    if app is None:
        from routilux_nb.server.app import create_app

        app_options.setdefault("bind_host", host)
        if (
            prefix
        ):  # reached only through the hub's authenticated proxy, which forwards the hub's Host
            app_options["allowed_hosts"] = [*(app_options.get("allowed_hosts") or ()), "*"]
        app = create_app(runtime, api_key=api_key, root_path=prefix or "", **app_options)
    config = uvicorn.Config(
        app, log_config=None, log_level=log_level, lifespan="on", root_path=prefix or ""
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"routilux-api-{bound_port}",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            thread.join(1.0)
            raise ServerStartError(
                f"the API server did not start on {host}:{bound_port} "
                "(see the log of 'uvicorn.error'); try another port"
            )
        time.sleep(0.01)
    handle = ServerHandle(server, thread, sock, host, bound_port, runtime, prefix)
    runtime.server = handle
    return handle
