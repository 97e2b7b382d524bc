"""Long work in other threads waits while a person is at the console's keys."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from returns_console.domain import pace


def test_other_threads_wait_while_held_and_the_main_thread_never_does(monkeypatch) -> None:
    now = [1000.0]
    slept: list[float] = []
    clock = SimpleNamespace(monotonic=lambda: now[0], sleep=slept.append)
    monkeypatch.setattr(pace, "time", clock)
    monkeypatch.setattr(pace, "_until", 0.0)

    def in_a_thread() -> None:
        worker = threading.Thread(target=pace.breathe)
        worker.start()
        worker.join(5)

    in_a_thread()
    assert slept == []  # nobody typing: no wait
    pace.hold(0.08)
    pace.breathe()  # the main thread is the one typed at: never held
    assert slept == []
    in_a_thread()
    assert slept == [pytest.approx(0.08)]
    pace.hold(5)  # a long hold is taken a breath at a time: the refresh still moves
    in_a_thread()
    assert slept[-1] == pace.LONGEST
    now[0] += 10  # the keys paused
    in_a_thread()
    assert len(slept) == 2
