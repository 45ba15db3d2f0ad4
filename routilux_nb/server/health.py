"""Health probes: ``/health`` (summary), ``/health/live``, ``/health/ready`` (503 when a
component is down) and ``/health/status`` (system, runtime, WebSocket and bus figures).

Every probe reads the runtime of ``app.state.runtime`` directly and costs microseconds;
the system figures come from ``os`` and ``resource`` only.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from routilux_nb.core.clock import iso, now

from .store_models import DatabaseStatusResponse, SystemMetricsResponse
from .ws_protocol import ws_stats

__all__ = ["check_components", "router", "system_status"]

router = APIRouter(tags=["health"])
_PROCESS_START = now()


def _version() -> str:
    from routilux_nb import __version__

    return __version__


def _uptime(runtime: Any) -> float:
    started = getattr(runtime.monitor, "started_at", None) or _PROCESS_START
    return round(max(0.0, now() - started), 3)


def _check(fn: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        ok, message = fn()
    except Exception as exc:  # a probe must answer, whatever broke
        ok, message = False, f"{type(exc).__name__}: {exc}"
    return {
        "status": "healthy" if ok else "unhealthy",
        "message": message,
        "response_time_ms": round((time.perf_counter() - t0) * 1000, 3),
    }


def _runtime_check(rt: Any) -> tuple[bool, str]:
    if rt.closed:
        return False, "the runtime is shut down"
    running = sum(1 for w in list(rt.workers.values()) if w.status != "stopped")
    return True, f"{len(rt.flows)} flows, {running} running workers"


def _pool_check(rt: Any) -> tuple[bool, str]:
    if rt.closed:
        return False, "the thread pool is shut down with the runtime"
    ex = rt._executor
    if ex is None:
        return True, f"thread pool starts on first job (max {rt.max_threads} threads)"
    if isinstance(ex, ThreadPoolExecutor) and getattr(ex, "_shutdown", False):
        return False, "the thread pool is shut down"
    return True, f"thread pool of {rt.max_threads} threads"


def _monitoring_check(rt: Any) -> tuple[bool, str]:
    bus = getattr(rt.monitor, "bus", None)
    if bus is None:
        return False, "monitoring is disabled for this runtime"
    return True, f"{bus.subscriber_count} bus subscribers"


def _storage_check(rt: Any) -> tuple[bool, str]:
    store = rt.store
    if store is None:
        return True, "in-memory (no store configured)"
    probe = getattr(store, "health", None) or getattr(store, "ping", None)
    if probe is not None:
        result = probe()
        return result is not False, f"{type(store).__name__}: {result}"
    return True, type(store).__name__


def check_components(rt: Any) -> dict[str, dict[str, Any]]:
    """``{runtime, thread_pool, monitoring, storage}``: each ``{status, message, response_time_ms}``."""
    return {
        "runtime": _check(lambda: _runtime_check(rt)),
        "thread_pool": _check(lambda: _pool_check(rt)),
        "monitoring": _check(lambda: _monitoring_check(rt)),
        "storage": _check(lambda: _storage_check(rt)),
    }


@router.get("/health", summary="Health summary")
async def health(request: Request) -> dict[str, Any]:
    """Overall status, version, component states and uptime (always 200; see ``/health/ready``)."""
    rt = request.app.state.runtime
    checks = check_components(rt)
    components = {name: checks[name]["status"] for name in ("runtime", "monitoring", "storage")}
    healthy = all(c["status"] == "healthy" for c in checks.values())
    return {
        "status": "healthy" if healthy else "unhealthy",
        "version": _version(),
        "components": components,
        "uptime": _uptime(rt),
        "timestamp": iso(now()),
    }


@router.get("/health/live", summary="Liveness probe")
async def live() -> dict[str, Any]:
    """200 while the server answers."""
    return {"status": "alive", "timestamp": iso(now())}


@router.get(
    "/health/ready", summary="Readiness probe", responses={503: {"description": "Not ready"}}
)
async def ready(request: Request) -> JSONResponse:
    """200 ``{"ready": true, "checks"}`` when every component works, else 503."""
    checks = check_components(request.app.state.runtime)
    ok = all(c["status"] == "healthy" for c in checks.values())
    return JSONResponse(
        {"ready": ok, "timestamp": iso(now()), "checks": checks}, status_code=200 if ok else 503
    )


def _memory() -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        import resource

        out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except (ImportError, OSError):
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        out["rss_mb"] = round(rss / 2**20, 1)
        out["memory_percent"] = round(100 * rss / pages, 2)
    except (OSError, ValueError, AttributeError):
        pass
    return out


def system_status() -> dict[str, Any]:
    """CPU (load average over cores), memory and disk figures of this process and machine."""
    cpus = os.cpu_count() or 1
    system: dict[str, Any] = {"cpu_count": cpus}
    try:
        load = os.getloadavg()
        system["load_average"] = [round(x, 2) for x in load]
        system["cpu_percent"] = round(min(100.0, 100 * load[0] / cpus), 1)
    except OSError:
        system["load_average"] = None
    memory = _memory()
    system["memory_percent"] = memory.pop("memory_percent", None)
    system["memory"] = memory
    try:
        disk = shutil.disk_usage(os.getcwd())
        system["disk_usage_percent"] = round(100 * disk.used / disk.total, 1)
    except OSError:
        system["disk_usage_percent"] = None
    return system


@router.get("/health/status", summary="System status")
async def status(request: Request) -> dict[str, Any]:
    """System figures, runtime counts, WebSocket clients and messages, bus subscribers."""
    rt = request.app.state.runtime
    stats = ws_stats(request.app)
    workers = Counter(w.status for w in list(rt.workers.values()))
    jobs = Counter(j.status for j in rt.jobs())
    bus = getattr(rt.monitor, "bus", None)
    return {
        "status": "healthy" if not rt.closed else "unhealthy",
        "timestamp": iso(now()),
        "uptime_seconds": _uptime(rt),
        "version": _version(),
        "system": system_status(),
        "runtime": {
            "flows": len(rt.flows),
            "workers": dict(workers),
            "jobs": dict(jobs),
            "max_threads": rt.max_threads,
            "closed": rt.closed,
        },
        "websocket": {
            "status": "running",
            "connected_clients": stats.connected_clients,
            "total_messages": stats.total_messages,
            "total_connections": stats.total_connections,
        },
        "monitoring": {
            "enabled": bus is not None,
            "bus_subscribers": bus.subscriber_count if bus is not None else 0,
            "bus_published": bus.published if bus is not None else 0,
        },
    }


def database_status(rt: Any) -> dict[str, Any]:
    """The job store: kind, file, size, WAL state, jobs stored, the write-through writer's lag."""
    store = rt.store
    out: dict[str, Any] = {"status": "healthy", "timestamp": iso(now())}
    if store is None:
        out["store"] = {
            "kind": "none",
            "message": "jobs are kept in memory only (no store configured)",
            "jobs_in_memory": len(rt.jobs()),
        }
        return out
    info: dict[str, Any] = {"kind": type(store).__name__}
    try:
        info.update(store.stats())
    except Exception as exc:  # the probe answers whatever broke
        out["status"] = "unhealthy"
        info["error"] = f"{type(exc).__name__}: {exc}"
    writer = getattr(rt, "store_writer", None)
    if writer is not None:
        info["writer"] = writer.stats()
        if info["writer"]["errors"]:
            out["status"] = "degraded"
    out["store"] = info
    return out


@router.get(
    "/health/database",
    summary="Job store status",
    responses={200: {"model": DatabaseStatusResponse}},
)
def database(request: Request) -> dict[str, Any]:
    """Store kind, path, size, WAL mode, jobs stored and the writer's lag and errors."""
    return database_status(request.app.state.runtime)


@router.get(
    "/health/metrics", summary="System metrics", responses={200: {"model": SystemMetricsResponse}}
)
def metrics(request: Request) -> dict[str, Any]:
    """CPU, memory and disk figures of this process and machine, with the process's threads."""
    import threading

    rt = request.app.state.runtime
    return {
        "timestamp": iso(now()),
        "uptime_seconds": _uptime(rt),
        "system": system_status(),
        "process": {"pid": os.getpid(), "threads": threading.active_count()},
    }
