"""Golden workflows: every ``tests/workflows/*.json`` runs end to end with the real built-in nodes.

A case file::

    {
      "description": "what the case pins down",
      "workflow": {...},                      # the workflow definition
      "input": [items],                       # optional, the execution's input items
      "expect": {
        "status": "succeeded" | "failed" | "waiting",
        "output": [items],                    # optional, the run's output
        "nodes": {"Name": {"status": "...", "items": [items]}},   # optional, subset match
        "error_contains": "...",              # optional, part of the error message
        "response": {"status": 201, "body": ...},  # optional, what ctx.respond set (subset)
        "sleeps": [0.1, 0.2],                 # optional, every retry wait in seconds, in order
        "error_workflow": {"workflow_id": "...", "error_contains": "..."}  # optional, the hook's call
      },
      "resume": {"resume_data": {...}, "expect": {...}},   # optional: resume a waiting run
      "variables": {...}, "credentials": {"cred-id": {...}}, "settings": {...},   # optional services
      "start_node": "Name", "mode": "manual"                # optional run options
    }

Expected items are compared on ``json``, and on ``binary`` only when the expected item
has it. Values go through a JSON round trip first (datetimes become ISO text). The run
uses a fixed clock (2026-01-15T12:00:00Z) and a sleep that returns at once. A node of
type ``execute_workflow`` finds workflow ``<id>`` in ``subworkflows/<id>.json`` (a case
file or a bare workflow).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, RunResult, run
from nodes.sdk import NodeUserError, default_registry

HERE = Path(__file__).parent
CASES = sorted(HERE.glob("*.json"))
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
async def test_golden_workflow(path: Path):
    case = json.loads(path.read_text())
    store, calls = InMemoryStepStore(), {"sleeps": [], "error_workflow": []}
    result = await _run_case(case, store, calls=calls)
    _check(result, case["expect"])
    _check_calls(calls, case["expect"])
    if "resume" in case:
        resumed = await _run_case(case, store, resume_data=case["resume"].get("resume_data"))
        _check(resumed, case["resume"]["expect"])


async def _run_case(case: dict, store: InMemoryStepStore, *, execution_id: str = "golden-1",
                    mode: str | None = None, resume_data: dict | None = None,
                    calls: dict | None = None) -> RunResult:
    services = _services(case, calls if calls is not None else {"sleeps": [], "error_workflow": []})
    options = {"start_node": case["start_node"]} if "start_node" in case else {}
    return await run(
        case["workflow"],
        execution=ExecutionInfo(id=execution_id, mode=mode or case.get("mode", "manual"),
                                workflow_id=case.get("workflow_id", "wf-golden")),
        input_items=case.get("input", []), store=store, services=services, resume_data=resume_data, **options)


def _services(case: dict, calls: dict) -> EngineServices:
    async def credentials(credential_id: str, node_name: str) -> dict:
        try:
            return case["credentials"][credential_id]
        except KeyError:
            raise NodeUserError(f"credential {credential_id!r} is not in the case's credentials") from None

    async def subworkflow(workflow_id: str, items: list[dict], parent_execution_id: str) -> list[dict]:
        path = HERE / "subworkflows" / f"{workflow_id}.json"
        if not path.exists():
            raise NodeUserError(f"workflow {workflow_id!r} does not exist (no {path.name} in subworkflows/)")
        loaded = json.loads(path.read_text())
        child = loaded if "workflow" in loaded else {"workflow": loaded}
        result = await _run_case({**child, "input": items}, InMemoryStepStore(),
                                 execution_id=f"{parent_execution_id}/{workflow_id}", mode="subworkflow")
        if result.status != "succeeded":
            raise NodeUserError(f"sub-workflow {workflow_id!r} {result.status}: {(result.error or {}).get('message')}")
        return result.output

    async def no_sleep(seconds: float) -> None:
        calls["sleeps"].append(round(seconds, 6))

    async def error_workflow(workflow_id: str, payload: dict) -> None:
        calls["error_workflow"].append({"workflow_id": workflow_id, "payload": payload})

    return EngineServices(
        registry=default_registry(), credentials=credentials, run_subworkflow=subworkflow,
        run_error_workflow=error_workflow,
        variables=case.get("variables", {}), clock=lambda: NOW, sleep=no_sleep,
        settings={"http_allow_private": False, "http_allow_list": [], **case.get("settings", {})},
    )


def _check(result: RunResult, expect: dict) -> None:
    context = f"error: {result.error}\nnodes: {_plain({n: v['status'] for n, v in result.nodes.items()})}"
    assert result.status == expect["status"], context
    if "output" in expect:
        assert _comparable(result.output, expect["output"]) == expect["output"], context
    for name, expected in expect.get("nodes", {}).items():
        assert name in result.nodes, f"node {name!r} did not run\n{context}"
        actual = result.nodes[name]
        if "status" in expected:
            assert actual["status"] == expected["status"], f"node {name!r}\n{context}"
        if "items" in expected:
            assert _comparable(actual["items"], expected["items"]) == expected["items"], f"node {name!r}"
    if "error_contains" in expect:
        assert result.error is not None, context
        assert expect["error_contains"] in result.error["message"], context
    if "response" in expect:
        assert result.response is not None, f"no node set a response\n{context}"
        actual = _plain(vars(result.response))
        assert {k: actual.get(k) for k in expect["response"]} == expect["response"], context


def _check_calls(calls: dict, expect: dict) -> None:
    if "sleeps" in expect:
        assert calls["sleeps"] == expect["sleeps"]
    if "error_workflow" in expect:
        want = expect["error_workflow"]
        assert len(calls["error_workflow"]) == 1, calls["error_workflow"]
        call = calls["error_workflow"][0]
        assert call["workflow_id"] == want["workflow_id"]
        assert want.get("error_contains", "") in call["payload"]["error"]["message"]


def _comparable(actual: list[dict], expected: list[dict]) -> list[dict]:
    """The actual items, trimmed to what the expected items specify."""
    plain = _plain(actual)
    if not isinstance(expected, list) or len(plain) != len(expected):
        return plain
    trimmed = []
    for got, want in zip(plain, expected, strict=True):
        keep = set(want) if isinstance(want, dict) else set(got)
        trimmed.append({key: value for key, value in got.items() if key in keep or key == "json"})
    return trimmed


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
