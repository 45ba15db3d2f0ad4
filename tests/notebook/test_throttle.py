from __future__ import annotations

import threading
import time

import pytest

from routilux_nb.notebook.throttle import Coalescer


def test_keeps_latest_and_limits_rate():
    calls: list[tuple[float, int]] = []
    c = Coalescer(lambda v: calls.append((time.monotonic(), v)), max_rate_hz=20)
    start = time.monotonic()
    while time.monotonic() - start < 0.5:
        for i in range(100):
            c.submit(i)
        time.sleep(0.001)
    c.close()
    assert calls[-1][1] == 99
    assert len(calls) <= 0.5 * 20 + 3
    gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:], strict=False)]
    assert min(gaps) >= 0.045


def test_no_call_without_new_value():
    calls: list[int] = []
    c = Coalescer(calls.append, max_rate_hz=50)
    c.submit(1)
    time.sleep(0.2)
    assert calls == [1]
    c.close()
    assert calls == [1]


def test_close_flushes_pending_value_and_stops_thread():
    calls: list[int] = []
    c = Coalescer(calls.append, max_rate_hz=5)
    c.submit(1)
    time.sleep(0.05)
    c.submit(2)
    c.close()
    assert calls == [1, 2]
    with pytest.raises(RuntimeError):
        c.submit(3)
    assert c._thread is not None and not c._thread.is_alive()


def test_failing_callback_does_not_stop_delivery():
    seen: list[int] = []

    def fn(v: int) -> None:
        seen.append(v)
        if v == 1:
            raise ValueError("boom")

    c = Coalescer(fn, max_rate_hz=100)
    c.submit(1)
    time.sleep(0.05)
    c.submit(2)
    c.close()
    assert seen == [1, 2]
    assert repr(c) == "Coalescer(max_rate_hz=100, closed)"


def test_thread_safe_submit():
    calls: list[int] = []
    c = Coalescer(calls.append, max_rate_hz=100)
    threads = [
        threading.Thread(target=lambda: [c.submit(i) for i in range(2000)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    c.close()
    assert calls and calls[-1] == 1999


def test_rejects_bad_rate():
    with pytest.raises(ValueError):
        Coalescer(print, max_rate_hz=0)
