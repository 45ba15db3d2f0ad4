"""The runtime's timer thread: deadlines, ordering, cancellation, shutdown."""

from __future__ import annotations

import threading
import time

import pytest

from routilux_nb.core.scheduler import Scheduler


@pytest.fixture
def sched():
    s = Scheduler(name="test-timer")
    yield s
    s.shutdown()


def test_no_thread_until_the_first_timer(sched):
    assert not any(t.name == "test-timer" for t in threading.enumerate())
    done = threading.Event()
    sched.call_later(0.0, done.set)
    assert done.wait(1)
    assert any(t.name == "test-timer" for t in threading.enumerate())


def test_fires_after_its_delay(sched):
    fired = []
    done = threading.Event()
    t0 = time.monotonic()
    sched.call_later(0.15, lambda: (fired.append(time.monotonic() - t0), done.set()))
    assert done.wait(2)
    assert 0.15 - 0.005 <= fired[0] < 0.15 + 0.2


def test_callbacks_run_in_deadline_order_with_args(sched):
    order = []
    done = threading.Event()
    sched.call_later(0.12, lambda tag: (order.append(tag), done.set()), "late")
    sched.call_later(0.04, order.append, "early")
    now = time.monotonic()
    sched.call_at(now + 0.08, order.append, "middle")
    assert done.wait(2)
    assert order == ["early", "middle", "late"]


def test_cancel_and_pending(sched):
    fired = []
    h1 = sched.call_later(0.05, fired.append, 1)
    sched.call_later(0.05, fired.append, 2)
    sched.call_later(5, fired.append, 3)
    assert sched.pending() == 3
    h1.cancel()
    assert sched.pending() == 2
    time.sleep(0.2)
    assert fired == [2]
    assert sched.pending() == 1


def test_a_failing_callback_does_not_kill_the_timer(sched, caplog):
    done = threading.Event()

    def boom():
        raise RuntimeError("bad callback")

    sched.call_later(0.0, boom)
    sched.call_later(0.02, done.set)
    assert done.wait(1)
    assert "timer callback" in caplog.text and "bad callback" in caplog.text


def test_negative_delay_fires_now(sched):
    done = threading.Event()
    sched.call_later(-5, done.set)
    assert done.wait(0.5)


def test_shutdown_stops_the_thread_and_refuses_new_timers():
    s = Scheduler(name="test-timer-shutdown")
    fired = []
    s.call_later(0.3, fired.append, 1)
    s.shutdown()
    assert not any(t.name == "test-timer-shutdown" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="shut down"):
        s.call_later(0.0, fired.append, 2)
    time.sleep(0.35)
    assert fired == []
    assert s.pending() == 0
