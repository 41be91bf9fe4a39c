"""Wake-ups: each scheduled execution is sent once, on time; rescheduling moves it; far ones wait."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from backend.executions.timers import HORIZON_S, WakeUps


def recorder() -> tuple[WakeUps, list[tuple[str, float]], threading.Event]:
    sent: list[tuple[str, float]] = []
    arrived = threading.Event()

    def send(execution_id: str) -> None:
        sent.append((execution_id, time.time()))
        arrived.set()

    return WakeUps(send), sent, arrived


def at(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_a_wake_up_is_sent_once_at_its_time():
    wake_ups, sent, arrived = recorder()
    due = at(0.3)
    wake_ups.schedule("a", due)
    wake_ups.schedule("a", due)  # scheduled twice (its parker and a look-ahead): sent once
    assert arrived.wait(5)
    time.sleep(0.2)
    assert [execution_id for execution_id, _ in sent] == ["a"]
    assert 0 <= sent[0][1] - due.timestamp() < 0.1
    assert wake_ups.pending() == 0


def test_wake_ups_go_in_time_order_and_a_rescheduled_one_moves():
    wake_ups, sent, _ = recorder()
    wake_ups.schedule("late", at(0.4))
    wake_ups.schedule("early", at(0.1))
    wake_ups.schedule("moved", at(0.2))
    wake_ups.schedule("moved", at(0.6))
    deadline = time.monotonic() + 5
    while len(sent) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    assert [execution_id for execution_id, _ in sent] == ["early", "late", "moved"]


def test_a_wait_beyond_the_horizon_is_left_to_the_look_ahead():
    wake_ups, sent, _ = recorder()
    wake_ups.schedule("far", at(HORIZON_S + 30))
    assert wake_ups.pending() == 0 and sent == []


def test_dropping_all_sends_none_of_them_and_later_ones_still_go():
    wake_ups, sent, arrived = recorder()
    wake_ups.schedule("a", at(0.2))
    wake_ups.schedule("b", at(0.3))
    assert wake_ups.drop_all() == 2 and wake_ups.pending() == 0
    time.sleep(0.5)
    assert sent == []
    wake_ups.schedule("c", at(0.1))
    assert arrived.wait(5)
    assert [execution_id for execution_id, _ in sent] == ["c"]
