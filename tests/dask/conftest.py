"""One Dask LocalCluster (2 worker processes, 1 thread each, loopback only) for the module.

``allowed-failures`` is 1: a worker dying under a task blames every task assigned to that
worker; Dask reruns them elsewhere once, and a task that kills a second worker fails with
``KilledWorker`` (then the routine's error strategy decides). Dask's default is 3.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")
dask = pytest.importorskip("dask")

import routilux_nb  # noqa: E402,F401  (registers the monitor)
from routilux_nb import Runtime  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        )
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture
def rt(client: Any) -> Iterator[Runtime]:
    client.wait_for_workers(2, timeout=60)  # a test may have killed one; the nanny restarts it
    runtime = Runtime(executor=client.get_executor())
    yield runtime
    runtime.shutdown()


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    def wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s: {predicate}")
            time.sleep(0.01)

    return wait
