"""The Code node: runs the user's Python on the items, in the platform's code sandbox."""

from __future__ import annotations

import json
import signal
from typing import Literal

from pydantic import Field, ValidationError

from nodes.sdk import CodeRun, Node, NodeParameters, NodeUserError
from nodes.sdk.sandbox import MAX_RESULT_BYTES

_EXAMPLE = "# `items` is the list of input items: [{'json': {...}}, ...]\nreturn [{'json': {**item['json'], 'seen': True}} for item in items]\n"


class CodeParameters(NodeParameters):
    code: str = Field(
        _EXAMPLE,
        min_length=1,
        description="Python (standard library only). once_for_all: `items` is the list of items, return a "
        "list; once_per_item: `item` is one item, return a dict or a list. Plain dicts become {'json': ...}",
        json_schema_extra={"format": "python", "expressions": False},  # the editor shows a code box
    )
    mode: Literal["once_for_all", "once_per_item"] = Field(
        "once_for_all", description="Run the code once with all items, or once for each item"
    )
    time_limit_s: int = Field(10, ge=1, le=300, description="CPU and wall-clock seconds the code may use")
    memory_mb: int = Field(256, ge=64, le=4096, description="Memory (address space) the code may use, in MB")


class Code(Node):
    """Runs ``code_runner.py`` on the items through ``ctx.run_code``, the platform's code sandbox.

    Its parameters are read as written (``ctx.raw_parameters()``): expressions are not
    evaluated, so ``{{`` in Python (f-strings, nested dicts) is left alone; the code reads
    the items itself.

    Only the items' JSON is sent (never credentials, settings or the database). The
    runner caps CPU time, address space, open files, file size and processes before it
    reads any input, and a wall-clock timer ends the run. Where and how isolated the
    process runs (bubblewrap namespaces with seccomp, a separate code-runner service, or
    an administrator's opt-out) is the platform's choice: see backend/sandbox/.
    """

    type = "code"
    display_name = "Code"
    group = "data"
    side_effects = True
    icon = "code"
    description = "Runs your Python on the items, in a sandbox with time and memory limits."
    Parameters = CodeParameters

    async def execute(self, ctx, items):
        params = _parameters(ctx)
        request = json.dumps({"code": params.code, "mode": params.mode, "items": items}, default=str).encode()
        run = await ctx.run_code(request, time_limit_s=params.time_limit_s, memory_mb=params.memory_mb)
        return _result_items(_reply(run, params), params.mode)


def _parameters(ctx) -> CodeParameters:
    """The parameters as written: no ``{{ }}`` evaluation, so braces in Python code stay Python."""
    try:
        return CodeParameters.model_validate(ctx.raw_parameters())
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())
        raise NodeUserError(f"invalid Code parameters: {problems}") from None


def _reply(run: CodeRun, params: CodeParameters) -> dict:
    cpu_killed = run.returncode in (-signal.SIGXCPU, -signal.SIGKILL)
    if run.timed_out or cpu_killed:
        raise NodeUserError(f"code exceeded its time limit of {params.time_limit_s}s", details={"logs": run.logs})
    try:
        reply = json.loads(run.stdout)
    except ValueError:
        raise _crashed(run, params) from None
    if not reply.get("ok"):
        raise _user_error(reply.get("error") or {}, run.logs, params)
    return reply


def _crashed(run: CodeRun, params: CodeParameters) -> NodeUserError:
    if run.output_truncated:
        return NodeUserError(f"the code returned more than {MAX_RESULT_BYTES // 2**20} MB of items; return less")
    if "MemoryError" in run.logs or run.returncode == -signal.SIGSEGV:
        return _memory_error(run.logs, params)
    return NodeUserError(
        f"the code's process ended without a result (exit code {run.returncode}); see the logs",
        details={"logs": run.logs},
    )


def _memory_error(logs: str, params: CodeParameters) -> NodeUserError:
    return NodeUserError(
        f"code exceeded its memory limit of {params.memory_mb} MB; process fewer items at once or raise memory_mb",
        details={"logs": logs},
    )


def _user_error(error: dict, logs: str, params: CodeParameters) -> NodeUserError:
    if error.get("kind") == "memory":
        return _memory_error(logs, params)
    line = error.get("line")
    message = error.get("message") or "the code failed"
    if line:
        message = f"{message} (line {line})"
    return NodeUserError(message, item_index=error.get("item_index"), details={"line": line, "logs": logs})


def _result_items(reply: dict, mode: str) -> list[dict]:
    result = reply["result"]
    if mode == "once_per_item":
        items = []
        for index, value in enumerate(result):
            items += _as_items(value, f"item {index}: the code", index)
        return items
    return _as_items(result, "the code", None)


def _as_items(value, who: str, index: int | None) -> list[dict]:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise NodeUserError(
            f"{who} returned {type(value).__name__ if value is not None else 'nothing'}; "
            "end it with `return items` (a list of dicts) or return a dict",
            item_index=index,
        )
    return [_as_item(element, who, index) for element in value]


def _as_item(value, who: str, index: int | None) -> dict:
    if not isinstance(value, dict):
        raise NodeUserError(f"{who} returned a list containing a {type(value).__name__}; every element must be a dict",
                            item_index=index)
    is_item = isinstance(value.get("json"), dict) and set(value) <= {"json", "binary"}
    return value if is_item else {"json": value}
