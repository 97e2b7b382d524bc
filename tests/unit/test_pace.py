"""Long work in other threads waits while a person is at the console's keys."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from returns_console.domain import pace


@pytest.fixture
def clock(monkeypatch):
    """A clock that moves only when told, or by the sleeps it is asked for (recorded)."""
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    fake = SimpleNamespace(monotonic=lambda: now[0], sleep=sleep, now=now, slept=slept)
    monkeypatch.setattr(pace, "time", fake)
    monkeypatch.setattr(pace, "_until", 0.0)
    return fake


def in_a_thread(work) -> None:
    worker = threading.Thread(target=work)
    worker.start()
    worker.join(5)


def test_other_threads_wait_while_held_and_the_main_thread_never_does(clock) -> None:
    in_a_thread(pace.breathe)
    assert clock.slept == []  # nobody typing: no wait
    pace.hold(0.08)
    pace.breathe()  # the main thread is the one typed at: never held
    assert clock.slept == []
    in_a_thread(pace.breathe)
    assert clock.slept == [pytest.approx(0.08)]
    pace.hold(5)  # a long hold is taken a breath at a time
    in_a_thread(pace.breathe)
    assert clock.slept[-1] == pace.LONGEST
    clock.now[0] += 10  # the keys paused
    in_a_thread(pace.breathe)
    assert len(clock.slept) == 2


def test_typing_without_pause_slows_the_work_but_never_stops_it(clock) -> None:
    """Keys every 30 ms, each holding 80 ms: the work still runs RUNS_AT_LEAST after each
    wait (a held key or a spun wheel starved a refresh to a record per 80 ms)."""
    ran: list[float] = []

    def work() -> None:
        for _ in range(200):
            pace.hold(0.08)  # a key arrives (the clock stands in for the main thread)
            pace.breathe()
            ran.append(clock.now[0])
            clock.now[0] += 0.005  # a step of work

    in_a_thread(work)
    waited, worked = sum(clock.slept), 200 * 0.005
    assert clock.slept and worked / (worked + waited) > 0.3
