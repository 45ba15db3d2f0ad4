"""Real-browser test harness: a throw-away JupyterLab server driven by Debian's Chromium.

Fixtures
    jupyter_lab   (session)  JupyterLab on a free 127.0.0.1 port with a random token and
                             private config/data/runtime/IPython folders.
    start_lab(base, settings=..., app="notebook")
                             a server of one's own: Lab settings (e.g. the kernel's
                             ``commsOverSubshells``) in a private JUPYTERLAB_SETTINGS_DIR,
                             or Jupyter Notebook 7 instead of JupyterLab.
    browser_page  (function) a Playwright (sync API) page in /usr/bin/chromium.

Helpers
    open_notebook(page, lab, path)    copy a notebook into the server root, open it,
                                      wait for its kernel, Run All, wait until done.
    wait_idle(lab, kernel_id)         poll the REST API until the kernel is idle.
    kernel_execute(lab, kernel_id, code) -> str
                                      run code over the kernel websocket and return the
                                      text/plain result (or the captured stdout).
    save_screenshot(page, name)       write test-artifacts/<name>.png.
    capture_kernel_messages(page) -> list
                                      record the kernel messages the page sends and
                                      receives on its websockets (decoded).

Test modules in this package import the helpers with ``from .conftest import ...``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
# Debian's chromium (apt-get install chromium); never a Playwright-downloaded browser.
CHROMIUM = os.environ.get("ROUTILUX_NB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAB_START_TIMEOUT = 90.0


# --------------------------------------------------------------------------- server


@dataclass
class LabServer:
    """A running JupyterLab server (see the ``jupyter_lab`` fixture)."""

    url: str  # "http://127.0.0.1:<port>/"
    token: str
    port: int
    root_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    app: str = "lab"  # "lab" (JupyterLab) or "notebook" (Jupyter Notebook 7)

    # -- REST helpers -------------------------------------------------------------
    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Call the server's REST API (``path`` like ``/api/sessions``); return parsed JSON."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"{self.url.rstrip('/')}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def sessions(self) -> list[dict[str, Any]]:
        return self.api("GET", f"/api/sessions?token={self.token}")

    def kernel(self, kernel_id: str) -> dict[str, Any]:
        return self.api("GET", f"/api/kernels/{kernel_id}")

    def lab_url(self, path: str = "") -> str:
        """URL of the UI opening ``path`` (relative to the root dir); Lab resets its workspace."""
        if self.app == "notebook":
            page = f"notebooks/{path}" if path else "tree"
            return f"{self.url}{page}?token={self.token}"
        tree = f"tree/{path}" if path else ""
        return f"{self.url}lab/{tree}?reset&token={self.token}"

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "<no server log>"

    # -- lifecycle ----------------------------------------------------------------
    def stop(self) -> None:
        """Shut down all kernels, then the server. Safe to call more than once."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(Exception):
                for kernel in self.api("GET", "/api/kernels", timeout=5):
                    with contextlib.suppress(Exception):
                        self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=10)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        # The server ran in its own process group: clean up anything left in it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lab_env(
    base: Path,
    settings: dict[str, dict[str, Any]] | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, str]:
    env = {**os.environ, **(extra_env or {})}
    env.pop("JUPYTERLAB_SETTINGS_DIR", None)
    if settings:
        # {"@jupyterlab/apputils-extension:kernels-settings": {...}} -> user settings files
        root = base / "lab-settings"
        for plugin, values in settings.items():
            package, _, name = plugin.partition(":")
            target = root / package / f"{name}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values), encoding="utf-8")
        env["JUPYTERLAB_SETTINGS_DIR"] = str(root)
    for name, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        (base / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(base / sub)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_TOKEN", None)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["MPLBACKEND"] = "Agg"
    env["PYTHONUNBUFFERED"] = "1"
    # Kernels must resolve `python` to this interpreter (the venv under test).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_lab(
    base: Path,
    attempts: int = 3,
    *,
    settings: dict[str, dict[str, Any]] | None = None,
    app: str = "lab",
    extra_env: dict[str, str] | None = None,
) -> LabServer:
    """Start JupyterLab (or Notebook 7: ``app="notebook"``) with its own folders under ``base``.

    ``settings`` maps plugin ids to user settings, written to a private
    ``JUPYTERLAB_SETTINGS_DIR``; ``extra_env`` is added to the server's (and so the
    kernels') environment. Waits until the server answers.
    """
    env = _lab_env(base, settings, extra_env)
    root = base / "root"
    root.mkdir(exist_ok=True)
    # No news/announcement toast over the notebook (written to the private config dir).
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "labextension",
            "disable",
            "--level=user",
            "@jupyterlab/apputils-extension:announcements",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    last_error = ""
    for attempt in range(attempts):
        port, token = _free_port(), secrets.token_hex(24)
        log_path = base / f"jupyterlab-{attempt}.log"
        cmd = [
            sys.executable,
            "-m",
            "notebook" if app == "notebook" else "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}",
            "--allow-root",
        ]
        if app != "notebook":
            cmd += [
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
            ]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                cmd,
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        lab = LabServer(
            url=f"http://127.0.0.1:{port}/",
            token=token,
            port=port,
            root_dir=root,
            log_path=log_path,
            proc=proc,
            app=app,
        )
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                last_error = f"JupyterLab exited with code {proc.returncode}"
                break
            try:
                lab.api("GET", "/api/status", timeout=2)
                with urllib.request.urlopen(lab.lab_url(), timeout=10) as resp:
                    if resp.status == 200:
                        return lab
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.25)
        else:
            last_error = f"JupyterLab did not answer within {LAB_START_TIMEOUT:.0f} s"
        tail = lab.log_tail()
        lab.stop()
        last_error = f"{last_error}\n--- server log ---\n{tail}"
    raise RuntimeError(f"could not start JupyterLab after {attempts} attempts: {last_error}")


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """A JupyterLab server for the whole session, always stopped at the end."""
    lab = start_lab(tmp_path_factory.mktemp("jupyterlab"))
    try:
        yield lab
    finally:
        lab.stop()


# -------------------------------------------------------------------------- browser


def chromium_missing_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return (
            f"{CHROMIUM} not found: install Debian's chromium "
            "(apt-get install --no-install-recommends chromium; `make test` does it as root)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _chromium() -> Iterator[Any]:
    reason = chromium_missing_reason()
    if reason:
        _skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    args = list(CHROMIUM_ARGS)
    with contextlib.suppress(OSError):
        if shutil.disk_usage("/dev/shm").free < 1 << 30:
            args.append("--disable-dev-shm-usage")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def browser_page(_chromium: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh Chromium page; a screenshot is saved in test-artifacts/ if the test fails."""
    context = _chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"[{msg.type}] {msg.text}"))
    page.on("pageerror", lambda exc: console.append(f"[pageerror] {exc}"))
    try:
        yield page
    finally:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):
                save_screenshot(page, f"FAILED-{name}")
            ARTIFACTS_DIR.mkdir(exist_ok=True)
            (ARTIFACTS_DIR / f"FAILED-{name}.console.txt").write_text("\n".join(console))
        context.close()


def save_screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / (name if name.endswith(".png") else f"{name}.png")
    page.screenshot(path=str(path), full_page=True)
    return path


# ------------------------------------------------------------------- kernel traffic


def decode_kernel_frame(payload: str | bytes) -> dict[str, Any] | None:
    """A kernel message from a websocket frame: JSON text, or the binary v1 kernel protocol
    (``offset count, offsets..., channel, header, parent_header, metadata, content, ...``)."""
    try:
        if isinstance(payload, str):
            msg = json.loads(payload)
            return msg if isinstance(msg, dict) and "header" in msg else None
        data = bytes(payload)
        count = int.from_bytes(data[:8], "little")
        offsets = [int.from_bytes(data[8 + 8 * i : 16 + 8 * i], "little") for i in range(count)]
        offsets.append(len(data))
        parts = [data[offsets[i] : offsets[i + 1]] for i in range(min(count, 5))]
        return {
            "channel": parts[0].decode(),
            "header": json.loads(parts[1]),
            "parent_header": json.loads(parts[2]),
            "content": json.loads(parts[4]),
        }
    except (ValueError, IndexError, UnicodeDecodeError):
        return None


def capture_kernel_messages(page: Any) -> list[dict[str, Any]]:
    """Record every kernel message on the page's websockets from now on.

    Each entry is the decoded message plus ``"direction"`` (``"sent"``/``"received"``)
    and ``"at"`` (``time.monotonic()``).
    """
    seen: list[dict[str, Any]] = []

    def keep(direction: str, payload: str | bytes) -> None:
        msg = decode_kernel_frame(payload)
        if msg is not None:
            seen.append({**msg, "direction": direction, "at": time.monotonic()})

    def on_websocket(ws: Any) -> None:
        ws.on("framesent", lambda payload: keep("sent", payload))
        ws.on("framereceived", lambda payload: keep("received", payload))

    page.on("websocket", on_websocket)
    return seen


# ------------------------------------------------------------------------ notebooks


def wait_idle(
    lab: LabServer, kernel_id: str, timeout: float = 60.0, settle: float = 0.5
) -> dict[str, Any]:
    """Poll the REST API until the kernel reports ``idle`` twice, ``settle`` s apart."""
    deadline = time.monotonic() + timeout
    idle_since: float | None = None
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = lab.kernel(kernel_id)
        if state.get("execution_state") == "idle":
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since >= settle:
                return state
        else:
            idle_since = None
        time.sleep(0.1)
    raise TimeoutError(f"kernel {kernel_id} not idle after {timeout:.0f} s (last state: {state})")


def wait_kernel_ready(lab: LabServer, notebook: str, timeout: float = 60.0) -> str:
    """Wait until the notebook's session has an idle kernel with a browser connection."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = lab.sessions()
        for sess in seen:
            kernel = sess.get("kernel") or {}
            if (
                sess.get("path") == notebook
                and kernel.get("execution_state") == "idle"
                and kernel.get("connections", 0) >= 1
            ):
                return kernel["id"]
        time.sleep(0.2)
    raise TimeoutError(f"no idle, connected kernel for {notebook} after {timeout:.0f} s: {seen}")


class KernelExecuteError(RuntimeError):
    """Code sent with :func:`kernel_execute` raised an exception in the kernel."""


def kernel_execute(lab: LabServer, kernel_id: str, code: str, timeout: float = 30.0) -> str:
    """Run ``code`` in the kernel (not stored in its history); return the result text.

    Returns the ``text/plain`` of the execute_result if there is one, else the captured
    stdout. Raises :class:`KernelExecuteError` if the code raised.
    """
    import websocket  # websocket-client

    url = f"ws://127.0.0.1:{lab.port}/api/kernels/{kernel_id}/channels?token={lab.token}"
    msg_id = uuid.uuid4().hex
    message = {
        "header": {
            "msg_id": msg_id,
            "msg_type": "execute_request",
            "username": "test",
            "session": uuid.uuid4().hex,
            "date": datetime.now(timezone.utc).isoformat(),
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": False,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": False,
        },
        "channel": "shell",
        "buffers": [],
    }
    ws = websocket.create_connection(url, timeout=timeout)
    try:
        ws.send(json.dumps(message))
        result: str | None = None
        stdout: list[str] = []
        error: dict[str, Any] | None = None
        got_reply = got_idle = False
        deadline = time.monotonic() + timeout
        while not (got_reply and got_idle):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no reply from kernel {kernel_id} within {timeout:.0f} s")
            raw = ws.recv()
            if not isinstance(raw, str):  # binary frames carry widget buffers
                continue
            msg = json.loads(raw)
            if (msg.get("parent_header") or {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["header"]["msg_type"], msg.get("content", {})
            if kind == "execute_result":
                result = content.get("data", {}).get("text/plain", "")
            elif kind == "stream" and content.get("name") == "stdout":
                stdout.append(content.get("text", ""))
            elif kind == "error":
                error = content
            elif kind == "status" and content.get("execution_state") == "idle":
                got_idle = True
            elif kind == "execute_reply":
                got_reply = True
                if content.get("status") == "error" and error is None:
                    error = content
    finally:
        ws.close()
    if error is not None:
        trace = "\n".join(error.get("traceback", []))
        trace = re.sub(r"\x1b\[[0-9;]*m", "", trace)
        raise KernelExecuteError(f"{error.get('ename')}: {error.get('evalue')}\n{trace}")
    return result if result is not None else "".join(stdout)


def _count_executable_cells(nb: dict[str, Any]) -> int:
    return sum(
        1
        for cell in nb.get("cells", [])
        if cell.get("cell_type") == "code"
        and "".join(cell.get("source", "")).strip()  # JupyterLab skips blank cells
    )


def run_all(page: Any) -> None:
    """Trigger JupyterLab's "Run All Cells" on the current notebook through the Run menu."""
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click()
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).first.click()
    label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))
    item = page.locator(".lm-Menu .lm-Menu-item").filter(has=label).first
    item.wait_for(state="visible")
    item.click()


def wait_run_all_done(
    page: Any, lab: LabServer, kernel_id: str, expected_count: int, timeout: float = 120.0
) -> None:
    """Wait until the kernel has executed ``expected_count`` cells and is idle.

    The kernel's ``execution_count`` (next prompt number) starts at 1 in a fresh kernel
    and grows by one for every executed cell, so it tells whether Run All really ran.
    """
    deadline = time.monotonic() + timeout
    target = expected_count + 1
    count = -1
    stalled_since: float | None = None
    while time.monotonic() < deadline:
        remaining = max(1.0, deadline - time.monotonic())
        count = int(kernel_execute(lab, kernel_id, "get_ipython().execution_count", remaining))
        if count >= target:
            wait_idle(lab, kernel_id, timeout=max(1.0, deadline - time.monotonic()))
            return
        # Nothing queued in the page and the kernel is idle: Run All stopped early
        # (a cell raised) or never started.
        busy = page.locator(".jp-InputPrompt", has_text="[*]").count() > 0
        if not busy and lab.kernel(kernel_id).get("execution_state") == "idle":
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 5.0:
                break
        else:
            stalled_since = None
        time.sleep(0.3)
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    details = "\n".join(errors.all_inner_texts())[-3000:]
    raise AssertionError(
        f"Run All did not finish: kernel executed {max(count - 1, 0)} of {expected_count} "
        f"cells.\n--- stderr/error outputs in the page ---\n{details or '<none>'}"
    )


@dataclass
class OpenedNotebook:
    path: str  # relative to the server root
    kernel_id: str


def open_notebook(
    page: Any,
    lab: LabServer,
    notebook_path: str | os.PathLike[str],
    *,
    run: bool = True,
    wait: bool = True,
    timeout: float = 120.0,
) -> OpenedNotebook:
    """Open a temporary copy of ``notebook_path`` in JupyterLab and (by default) Run All.

    The copy lives in the server root (never the original: JupyterLab autosaves and writes
    checkpoints). Other files next to the notebook are not copied; copy what the notebook
    needs into ``lab.root_dir`` first. Returns the copy's path and its kernel id.
    """
    src = Path(notebook_path)
    nb = json.loads(src.read_text(encoding="utf-8"))
    # A kernelspec avoids the "Select Kernel" dialog.
    nb.setdefault("metadata", {}).setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    name = f"{src.stem}-{uuid.uuid4().hex[:8]}.ipynb"
    (lab.root_dir / name).write_text(json.dumps(nb, indent=1), encoding="utf-8")

    page.goto(lab.lab_url(name))
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(
        state="visible", timeout=timeout * 1000
    )
    kernel_id = wait_kernel_ready(lab, name, timeout=timeout)
    if run:
        run_all(page)
        if wait:
            wait_run_all_done(page, lab, kernel_id, _count_executable_cells(nb), timeout)
    return OpenedNotebook(path=name, kernel_id=kernel_id)


def write_notebook(path: Path, sources: list[str]) -> Path:
    """Write a minimal nbformat-4 notebook with one code cell per source string."""
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": uuid.uuid4().hex[:8],
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for src in sources
        ],
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


__all__ = [
    "ARTIFACTS_DIR",
    "KernelExecuteError",
    "capture_kernel_messages",
    "decode_kernel_frame",
    "LabServer",
    "OpenedNotebook",
    "kernel_execute",
    "open_notebook",
    "run_all",
    "save_screenshot",
    "start_lab",
    "wait_idle",
    "wait_kernel_ready",
    "wait_run_all_done",
    "write_notebook",
]
