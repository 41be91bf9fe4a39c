"""Inline webhook runs happen on the inline lanes (backend/isolation.py), not on the request's loop."""

from __future__ import annotations

import threading

from webhook_testkit import execution_count, flow, hook, node

from backend.isolation import Lanes
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
