"""Command line: ``python -m routilux_nb serve`` (or ``routilux-nb serve``) runs the HTTP API.

``--store PATH`` keeps every job in a SQLite file (write-through), so a restarted server lists
what ran before; without it (or with ``--store memory``) jobs live in memory only.
``--flows DIR`` loads every ``*.yaml``, ``*.yml`` and ``*.json`` file of DIR (not its
subfolders), registers each flow and starts a worker for it. A file that cannot be loaded is
reported with its name and line and skipped; with ``--strict`` it stops the command (exit 1).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

__all__ = ["FLOW_SUFFIXES", "build_parser", "load_flows", "main"]

FLOW_SUFFIXES = (".yaml", ".yml", ".json")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="routilux-nb", description="Routilux flows over HTTP.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the HTTP API (Swagger UI at /docs)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)"
    )
    serve.add_argument(
        "--flows", type=Path, metavar="DIR", help="load the flow files of DIR at start"
    )
    serve.add_argument("--api-key", help="require this key in the X-API-Key header")
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="let browser pages of ORIGIN (e.g. http://localhost:3000) call the API; "
        "repeatable (default: ROUTILUX_CORS_ORIGINS, else none)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests whose Host is NAME (loopback names always; "
        "a non-loopback --host is added); repeatable, '*' for any",
    )
    serve.add_argument(
        "--strict", action="store_true", help="exit with code 1 if a flow file fails"
    )
    serve.add_argument("--allow-remote", action="store_true", help="allow a non-loopback --host")
    serve.add_argument("--log-level", default="info", help="uvicorn log level (default: info)")
    serve.add_argument(
        "--store",
        metavar="PATH",
        help="keep every job in this SQLite file (write-through; 'memory' for none, the default)",
    )
    serve.add_argument(
        "--compat",
        choices=["routilux"],
        default=None,
        help="answer as the original Routilux server where they differ: job and worker "
        "timestamps in Unix seconds (for routilux-overseer)",
    )
    serve.add_argument(
        "--otel-endpoint",
        metavar="URL",
        help="export traces and metrics with OpenTelemetry OTLP/HTTP to URL "
        "(e.g. http://127.0.0.1:4318; needs the otel extra)",
    )
    return parser


def load_flows(runtime: Any, directory: Path) -> list[str]:
    """Register and start the flows of ``directory``; returns the error lines of bad files."""
    from routilux_nb import load_flow
    from routilux_nb.core.errors import DSLError

    if not directory.is_dir():
        return [f"{directory}: not a directory"]
    errors: list[str] = []
    for path in sorted(
        p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in FLOW_SUFFIXES
    ):
        try:
            flow = load_flow(path.read_text(encoding="utf-8"))
            runtime.register_flow(flow)
            runtime.start(flow)
        except DSLError as exc:
            where = f"{path.name}:{exc.line}" if exc.line else path.name
            errors.append(f"{where}: {exc.reason}")
        except Exception as exc:  # any other failure of one file must not stop the others
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            errors.append(f"{path.name}: {type(exc).__name__}: {message}")
        else:
            print(f"loaded flow {flow.flow_id!r} from {path.name}", file=sys.stderr)
    return errors


def _serve(args: argparse.Namespace) -> int:
    from routilux_nb.server.embedded import _is_loopback

    if not _is_loopback(args.host):
        if not args.allow_remote:
            print(
                f"error: --host {args.host} is not loopback; add --allow-remote (and --api-key)",
                file=sys.stderr,
            )
            return 2
        if not args.api_key:
            warnings.warn(f"serving on {args.host} without --api-key", stacklevel=1)
    import uvicorn

    from routilux_nb.core import Runtime
    from routilux_nb.server.app import create_app

    try:
        runtime = Runtime(
            otel=args.otel_endpoint or None,
            store=None if args.store in (None, "memory") else args.store,
        )
    except (ImportError, ValueError) as exc:
        print(f"error: --otel-endpoint: {exc}", file=sys.stderr)
        return 2
    try:
        if args.flows is not None:
            errors = load_flows(runtime, args.flows)
            for line in errors:
                print(f"error: {line}", file=sys.stderr)
            if errors and args.strict:
                return 1
        app = create_app(
            runtime,
            api_key=args.api_key,
            compat=args.compat,
            cors_origins=args.cors_origin,
            allowed_hosts=args.allowed_host,
            bind_host=args.host,
        )
        # uvicorn re-raises SIGTERM after its graceful shutdown: exit through ``finally`` so
        # the runtime shuts down (exporters flush, stores persist) instead of dying there
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        runtime.shutdown(wait=False)
    return 0


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``routilux-nb`` and ``python -m routilux_nb``."""
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2  # pragma: no cover - argparse rejects other commands


if __name__ == "__main__":
    sys.exit(main())
