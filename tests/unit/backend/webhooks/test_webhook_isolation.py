"""Inline webhook runs happen on the inline lanes (backend/isolation.py), not on the request's loop, until a
workflow has shown that its runs are short (``Placement``)."""

from __future__ import annotations

import asyncio
import threading
import time

from webhook_testkit import execution_count, flow, hook, node

from backend.isolation import PROVEN_RUNS, SMALL_INPUT_BYTES, Lanes, Placement
from backend.webhooks import runs

DOUBLE = node("set", "Double", "set", 1, keep_only_set=True, fields=[{"name": "double", "value": "{{ $json.body.n * 2 }}"}])


def test_the_engine_runs_on_a_lane_and_the_answer_and_saving_come_back(api, deploy, monkeypatch):
    engine_threads = []
    engine = runs.run

    async def recording_run(*args, **kwargs):
        engine_threads.append(threading.current_thread().name)
        return await engine(*args, **kwargs)

    monkeypatch.setattr(runs, "run", recording_run)
    deploy(flow(hook("orders"), DOUBLE))
    response = api.post("/webhook/orders", json={"n": 21})
    assert response.status_code == 200 and response.json() == {"double": 42}
    assert engine_threads[0].startswith("linkflow-inline-")
    assert execution_count() == 1  # saved by the group commit on the request's loop


def test_with_every_turn_taken_an_inline_webhook_answers_503_and_starts_nothing(api, deploy, monkeypatch):
    lanes = Lanes(threads=1, concurrency=1, wait_s=0.05)
    lanes.gate.held = lanes.gate.limit  # as if long runs held every turn
    monkeypatch.setattr(runs, "inline_lanes", lambda: lanes)
    deploy(flow(hook("orders"), DOUBLE))
    busy = api.post("/webhook/orders", json={"n": 1})
    assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    assert busy.json()["error"]["code"] == "overloaded"
    assert execution_count() == 0


def _engine_threads(monkeypatch, slow_when: str | None = None) -> list[str]:
    """The thread each run's engine ran on; a run whose body has ``slow_when`` first computes for 0.5 s."""
    threads: list[str] = []
    engine = runs.run

    async def recording_run(*args, **kwargs):
        threads.append(threading.current_thread().name)
        if slow_when and kwargs["input_items"][0]["json"]["body"].get(slow_when):
            deadline = time.thread_time() + 0.5
            while time.thread_time() < deadline:
                sum(range(1000))
        return await engine(*args, **kwargs)

    monkeypatch.setattr(runs, "run", recording_run)
    return threads


def test_a_workflow_whose_runs_are_short_then_runs_on_the_request_loop(api, deploy, monkeypatch):
    monkeypatch.setattr(runs, "inline_placement", lambda placement=Placement(0.05): placement)
    threads = _engine_threads(monkeypatch)
    deploy(flow(hook("orders"), DOUBLE))
    for n in range(PROVEN_RUNS + 3):
        response = api.post("/webhook/orders", json={"n": n})
        assert response.status_code == 200 and response.json() == {"double": 2 * n}
    assert all(name.startswith("linkflow-inline-") for name in threads[:PROVEN_RUNS])
    assert not any(name.startswith("linkflow-inline-") for name in threads[PROVEN_RUNS:])  # the request's loop
    assert execution_count() == PROVEN_RUNS + 3  # saved the same way


def test_on_the_request_loop_the_run_has_a_task_of_its_own(api, deploy, monkeypatch):
    """A cancel (a user's, a lost lease) stops the run's task: it must not be the request's, which saves and answers
    after the run; on a lane it never was."""
    monkeypatch.setattr(runs, "inline_placement", lambda placement=Placement(0.05): placement)
    engine, save = runs.run, runs.save_finished
    tasks: dict[str, list] = {"run": [], "save": []}

    async def recording_run(*args, **kwargs):
        tasks["run"].append((threading.current_thread().name, asyncio.current_task()))
        return await engine(*args, **kwargs)

    async def recording_save(run):
        tasks["save"].append(asyncio.current_task())
        return await save(run)

    monkeypatch.setattr(runs, "run", recording_run)
    monkeypatch.setattr(runs, "save_finished", recording_save)
    deploy(flow(hook("orders"), DOUBLE))
    for n in range(PROVEN_RUNS + 1):
        assert api.post("/webhook/orders", json={"n": n}).json() == {"double": 2 * n}
    thread, run_task = tasks["run"][-1]
    assert not thread.startswith("linkflow-inline-") and run_task.done()
    assert run_task is not tasks["save"][-1]


def test_a_large_input_or_the_setting_at_zero_keeps_runs_on_the_lanes(api, deploy, monkeypatch):
    placement = Placement(0.05)
    monkeypatch.setattr(runs, "inline_placement", lambda: placement)
    threads = _engine_threads(monkeypatch)
    deploy(flow(hook("orders"), DOUBLE))
    for n in range(PROVEN_RUNS):
        assert api.post("/webhook/orders", json={"n": n}).status_code == 200
    large = api.post("/webhook/orders", json={"n": 1, "pad": "x" * (SMALL_INPUT_BYTES + 1)})
    assert large.status_code == 200 and large.json() == {"double": 2}
    assert threads[-1].startswith("linkflow-inline-")
    placement.limit_s = 0  # LINKFLOW_HTTP_INLINE_ON_LOOP_MS=0
    assert api.post("/webhook/orders", json={"n": 1}).status_code == 200
    assert threads[-1].startswith("linkflow-inline-")


def test_a_short_workflow_that_turns_long_goes_back_to_the_lanes(api, deploy, monkeypatch):
    monkeypatch.setattr(runs, "inline_placement", lambda placement=Placement(0.01): placement)
    threads = _engine_threads(monkeypatch, slow_when="slow")
    deploy(flow(hook("orders"), DOUBLE))
    for n in range(PROVEN_RUNS):
        assert api.post("/webhook/orders", json={"n": n}).status_code == 200
    slow = api.post("/webhook/orders", json={"n": 5, "slow": True})  # unforeseeable: runs on the request loop once
    assert slow.status_code == 200 and slow.json() == {"double": 10}
    assert not threads[-1].startswith("linkflow-inline-")
    for n in range(PROVEN_RUNS + 2):  # short again, but demoted for DEMOTED_S: back on the lanes
        assert api.post("/webhook/orders", json={"n": n}).status_code == 200
        assert threads[-1].startswith("linkflow-inline-")
