"""The worker's scheduling lock: a mutex with the interface of ``threading.Lock``."""

from __future__ import annotations

import threading

from routilux_nb.core._lock import YIELDS, YieldingLock

TIMEOUT = 10


def test_acquire_release_and_non_blocking_attempts() -> None:
    lock = YieldingLock()
    assert not lock.locked()
    assert lock.acquire()
    assert lock.locked() and "locked" in repr(lock)
    assert not lock.acquire(False) and not lock.try_acquire()
    assert not lock.acquire(True, 0.01)  # a timeout gives up
    lock.release()
    assert lock.try_acquire()
    lock.release()
    with lock:
        assert lock.locked()
    assert not lock.locked()


def test_mutual_exclusion_between_threads() -> None:
    lock = YieldingLock()
    inside = 0
    overlaps = []
    counter = [0]

    def work() -> None:
        nonlocal inside
        for _ in range(2000):
            if not lock.try_acquire():
                lock.acquire()
            try:
                inside += 1
                overlaps.append(inside)
                counter[0] += 1
                inside -= 1
            finally:
                lock.release()
            with lock:
                counter[0] += 1

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads)
    assert counter[0] == 4 * 2000 * 2
    assert max(overlaps) == 1


def test_a_holder_blocked_in_its_section_lets_the_waiter_block_too() -> None:
    """A waiter gives up yielding after YIELDS tries and sleeps until the holder releases."""
    lock = YieldingLock()
    holding, release, got = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:
        with lock:
            holding.set()
            release.wait(TIMEOUT)  # blocked in its section, GIL released

    def waiter() -> None:
        with lock:
            got.set()

    h = threading.Thread(target=holder)
    h.start()
    assert holding.wait(TIMEOUT)
    w = threading.Thread(target=waiter)
    w.start()
    w.join(0.2)
    assert w.is_alive() and not got.is_set() and YIELDS > 0
    release.set()
    assert got.wait(TIMEOUT)
    h.join(TIMEOUT)
    w.join(TIMEOUT)


def test_a_condition_on_it_waits_and_is_notified() -> None:
    lock = YieldingLock()
    cond = threading.Condition(lock)  # type: ignore[arg-type]
    ready = []

    def notifier() -> None:
        with cond:
            ready.append(1)
            cond.notify_all()

    with cond:
        t = threading.Thread(target=notifier)
        t.start()
        assert cond.wait_for(lambda: ready, TIMEOUT)
        assert lock.locked()  # re-acquired on return
    t.join(TIMEOUT)
    assert not lock.locked()
