"""The runtime gives way to the window: its event loop and database calls wait while the
window's thread is busy, and never longer than a busy spell's budget."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from jobdesk.runtime.give_way import GiveWay


@pytest.fixture
def running_loop() -> Iterator[tuple[GiveWay, asyncio.AbstractEventLoop]]:
    """A giving-way event loop running in its own thread, as the runtime's does."""
    give_way = GiveWay(budget=30.0, burst=30.0)
    loop = give_way.event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-runtime")
    thread.start()
    try:
        yield give_way, loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_the_runtimes_loop_waits_while_the_window_is_busy(running_loop) -> None:
    give_way, loop = running_loop
    ran = threading.Event()
    with give_way.window_busy():
        loop.call_soon_threadsafe(ran.set)
        assert not ran.wait(0.2)  # the loop woke up for it, and waits for the window
    assert ran.wait(10)


def test_the_loop_runs_freely_when_the_window_is_not_busy(running_loop) -> None:
    _give_way, loop = running_loop
    ran = threading.Event()
    loop.call_soon_threadsafe(ran.set)
    assert ran.wait(10)


def test_only_the_outermost_busy_spell_frees_the_runtime(running_loop) -> None:
    give_way, loop = running_loop
    ran = threading.Event()
    with give_way.window_busy():
        with give_way.window_busy():  # a callback that repaints, say
            pass
        loop.call_soon_threadsafe(ran.set)
        assert not ran.wait(0.2)
    assert ran.wait(10)


def test_a_busy_spell_holds_the_runtime_no_longer_than_its_budget() -> None:
    """A dialog opened from a callback keeps the window busy for minutes; the runtime must
    go on after the budget, not crawl one pause at a time."""
    now = [100.0]
    give_way = GiveWay(budget=0.5, monotonic=lambda: now[0])
    with give_way.window_busy():
        now[0] += 0.6  # the spell has used its budget: no wait at all
        finished = threading.Event()
        runtime = threading.Thread(
            target=lambda: (give_way.wait_for_window(), finished.set()))
        runtime.start()
        assert finished.wait(10)
        runtime.join()


def test_a_pause_ends_when_the_budget_runs_out_though_the_window_stays_busy() -> None:
    give_way = GiveWay(budget=0.05)
    finished = threading.Event()
    with give_way.window_busy():
        runtime = threading.Thread(
            target=lambda: (give_way.wait_for_window(), finished.set()))
        runtime.start()
        assert finished.wait(10)  # the window is still busy here
        assert give_way.window_is_busy
    runtime.join()
    assert not give_way.window_is_busy


def test_a_window_busy_spell_after_spell_holds_the_runtime_three_quarters_at_most() -> None:
    """A window busy spell after spell (repainting while it is dragged to another size)
    must not hold the runtime all the time: pauses draw on a credit that refills at three
    quarters of the time passing."""
    now = [100.0]
    give_way = GiveWay(budget=100.0, burst=5.0, monotonic=lambda: now[0])

    def runtime_waits() -> tuple[threading.Thread, threading.Event]:
        done = threading.Event()
        thread = threading.Thread(target=lambda: (give_way.wait_for_window(), done.set()))
        thread.start()
        return thread, done

    with give_way.window_busy():
        first, done = runtime_waits()
        assert not done.wait(0.2)
        now[0] += 5.0  # paused 5 s, the burst: the credit is spent
    assert done.wait(10)
    first.join()
    with give_way.window_busy():  # at once the next spell: no credit, no pause
        second, done = runtime_waits()
        assert done.wait(4)  # not the spell's budget, nor the 5 s burst
        second.join()
        now[0] += 10.0  # the runtime worked on: the credit is back
        third, done = runtime_waits()
        assert not done.wait(0.2)
    assert done.wait(10)
    third.join()
