"""`linkflow run FILE.json`: run one workflow file in this process and print the result as JSON."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from backend import json_limits
from backend.engine.runner import RunResult, run
from backend.engine.services import EngineServices, ExecutionInfo
from backend.engine.store import InMemoryStepStore
from backend.engine.validate import validate
from backend.outbound import node_settings
from nodes.sdk import NodeUserError, default_registry

MAX_INLINE_WAIT_S = 300  # a Wait node longer than this makes `run` stop with status "waiting"


def run_file(path: str, input_json: str | None) -> int:
    try:
        definition = _load_json(Path(path), "workflow file")
        items = _input_items(input_json)
    except ValueError as exc:
        print(json.dumps({"status": "error", "error": str(exc)}), file=sys.stderr)
        return 2
    problems = validate(definition, default_registry())
    if problems:
        print(json.dumps({"status": "invalid", "problems": [{"node": p.node, "message": p.message} for p in problems]}, indent=2))
        return 1
    result, execution_id = asyncio.run(_run_to_end(definition, items, Path(path).parent))
    print(json.dumps(_report(result, execution_id), indent=2, default=str))
    return 0 if result.status == "succeeded" else 1


async def _run_to_end(definition: dict, items: list, base_dir: Path) -> tuple[RunResult, str]:
    execution = ExecutionInfo(id=uuid.uuid4().hex, mode="manual", workflow_id=None,
                              workflow_name=definition.get("name", ""))
    store, services = InMemoryStepStore(), _services(base_dir)
    result = await run(definition, execution=execution, input_items=items, store=store, services=services)
    while result.status == "waiting" and result.resume_at is not None:
        delay = (result.resume_at - datetime.now(UTC)).total_seconds()
        if delay > MAX_INLINE_WAIT_S:
            break
        await asyncio.sleep(max(delay, 0))
        result = await run(definition, execution=execution, input_items=items, store=store,
                           services=services, resume_data={})
    return result, execution.id


def _services(base_dir: Path) -> EngineServices:
    services = EngineServices(settings=node_settings())

    async def run_file_subworkflow(workflow_id: str, items: list[dict], parent_id: str) -> list[dict]:
        # Without a database, a sub-workflow id names a JSON file next to the workflow file.
        candidate = base_dir / (workflow_id if workflow_id.endswith(".json") else f"{workflow_id}.json")
        if not candidate.is_file():
            raise NodeUserError(f"sub-workflow {workflow_id!r}: no file {candidate} (linkflow run looks "
                                "for <workflow_id>.json next to the workflow file)")
        child = await run(_load_json(candidate, "sub-workflow file"),
                          execution=ExecutionInfo(id=uuid.uuid4().hex, mode="subworkflow"),
                          input_items=items, store=InMemoryStepStore(), services=services)
        if child.status != "succeeded":
            raise NodeUserError(f"sub-workflow {workflow_id!r} {child.status}: {(child.error or {}).get('message')}")
        return child.output

    services.run_subworkflow = run_file_subworkflow
    return services


def _load_json(path: Path, what: str) -> dict:
    try:
        data = json_limits.loads(path.read_text(), what=f"{what} {path}")
    except FileNotFoundError:
        raise ValueError(f"{what} {path} does not exist") from None
    except json_limits.TooDeep:
        raise
    except ValueError as exc:
        raise ValueError(f"{what} {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path} must hold a JSON object with 'nodes' and 'connections'")
    return data


def _input_items(raw: str | None) -> list[dict]:
    """``--input``: JSON text, ``@path`` for a file holding it, or ``-`` to read it from standard input
    (an input of a few hundred kB does not fit in a command line)."""
    if raw is None:
        return []
    raw = _input_text(raw)
    try:
        value = json_limits.loads(raw, what="--input")
    except json_limits.TooDeep:
        raise
    except ValueError as exc:
        raise ValueError(f"--input is not valid JSON: {exc}") from None
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, dict) for v in values):
        raise ValueError("--input must be a JSON object or a list of objects")
    return [v if set(v) <= {"json", "binary"} and "json" in v else {"json": v} for v in values]


def _input_text(raw: str) -> str:
    if raw == "-":
        return sys.stdin.read()
    if raw.startswith("@"):
        path = Path(raw[1:])
        try:
            return path.read_text()
        except FileNotFoundError:
            raise ValueError(f"--input {raw}: the file {path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--input {raw}: the file {path} cannot be read as text ({exc})") from None
    return raw


def _report(result: RunResult, execution_id: str) -> dict:
    report = {
        "status": result.status,
        "execution_id": execution_id,
        "nodes": {name: {"status": n["status"], "items": n.get("items", [])} for name, n in result.nodes.items()},
        "output": result.output,
    }
    if result.error:
        report["error"] = result.error
    if result.status == "waiting":
        report["resume_at"] = result.resume_at
    return report
