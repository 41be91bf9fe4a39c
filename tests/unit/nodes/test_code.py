"""The Code node's behaviour, the same in the bwrap sandbox (the default) and the unsafe_process opt-out.

Escape attempts against the sandbox are in tests/unit/backend/sandbox/test_escapes.py.
"""

import asyncio
import textwrap

import pytest

from backend.sandbox import build_sandbox
from backend.settings import CodeSettings, HttpSettings
from nodes.builtin.code import Code
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node

ITEMS = [{"json": {"n": 1}}, {"json": {"n": 2}}]
SANDBOXES = {mode: build_sandbox(CodeSettings(sandbox=mode), HttpSettings()) for mode in ("bwrap", "unsafe_process")}


async def run_in(sandbox, code, items=ITEMS, **params):
    out = await run_node(Code, items, params={"code": textwrap.dedent(code), **params}, code_sandbox=sandbox)
    return out["main"]


@pytest.fixture(params=sorted(SANDBOXES))
def run_code(request):
    """Runs the Code node in one sandbox mode: every test using it runs in each."""
    return lambda code, items=ITEMS, **params: run_in(SANDBOXES[request.param], code, items, **params)


async def test_once_for_all_gets_items_and_returns_a_list(run_code):
    out = await run_code("return [{'json': {'n': i['json']['n'] * 10}} for i in items]")
    assert out == [{"json": {"n": 10}}, {"json": {"n": 20}}]


async def test_plain_dicts_are_wrapped_into_items(run_code):
    assert await run_code("return [{'total': sum(i['json']['n'] for i in items)}]") == [{"json": {"total": 3}}]


async def test_once_per_item(run_code):
    code = """
        import math
        return {'n': item['json']['n'], 'root': math.sqrt(item['json']['n'] * 8)}
    """
    out = await run_code(code, mode="once_per_item")
    assert out == [{"json": {"n": 1, "root": 8 ** 0.5}}, {"json": {"n": 2, "root": 4.0}}]


async def test_print_does_not_break_the_result_and_is_kept_as_logs_on_failure(run_code):
    assert await run_code("print('hello'); return items") == ITEMS
    with pytest.raises(NodeUserError) as info:
        await run_code("print('debug 42')\nraise ValueError('nope')")
    assert "debug 42" in info.value.details["logs"]


async def test_user_exception_gives_last_traceback_line_and_line_number(run_code):
    code = """
        total = 0
        for item in items:
            total += 10 / (item['json']['n'] - 2)
        return items
    """
    with pytest.raises(NodeUserError) as info:
        await run_code(code)
    assert str(info.value) == "ZeroDivisionError: division by zero (line 4)"
    assert info.value.details["line"] == 4


async def test_per_item_exception_names_the_item(run_code):
    with pytest.raises(NodeUserError, match="KeyError: 'missing'") as info:
        await run_code("return {'x': item['json']['n'] if item['json']['n'] == 1 else item['missing']}",
                       mode="once_per_item")
    assert info.value.item_index == 1


async def test_syntax_error_has_its_line(run_code):
    with pytest.raises(NodeUserError, match=r"SyntaxError: .* \(line 2\)"):
        await run_code("x = 1\nreturn (")


async def test_returning_nothing_says_what_to_do(run_code):
    with pytest.raises(NodeUserError, match="end it with `return items`"):
        await run_code("x = 1")


async def test_non_json_result_is_a_user_error(run_code):
    with pytest.raises(NodeUserError, match="returned a set, which is not JSON"):
        await run_code("return [{'s': {1, 2}}]")


async def test_sys_exit_is_reported_not_obeyed(run_code):
    with pytest.raises(NodeUserError, match="SystemExit"):
        await run_code("import sys\nsys.exit(3)")


async def test_infinite_loop_is_stopped_by_the_time_limit(run_code):
    with pytest.raises(NodeUserError, match="code exceeded its time limit of 1s"):
        await run_code("while True:\n    pass", time_limit_s=1)


async def test_sleeping_code_is_stopped_by_the_wall_clock(run_code):
    with pytest.raises(NodeUserError, match="code exceeded its time limit of 1s"):
        await run_code("import time\ntime.sleep(30)", time_limit_s=1)


async def test_memory_bomb_is_stopped_by_the_memory_limit(run_code):
    with pytest.raises(NodeUserError, match="code exceeded its memory limit of 64 MB"):
        await run_code("blob = bytearray(512 * 1024 * 1024)\nreturn items", memory_mb=64)


async def test_growing_memory_is_stopped_too(run_code):
    with pytest.raises(NodeUserError, match="memory limit of 64 MB"):
        await run_code("hoard = []\nwhile True:\n    hoard.append('x' * 1_000_000)", memory_mb=64, time_limit_s=20)


async def test_environment_is_scrubbed(run_code, monkeypatch):
    monkeypatch.setenv("LINKFLOW_SECURITY__SECRET_KEY", "top-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    out = await run_code("import os\nreturn [{'env': dict(os.environ)}]")
    env = out[0]["json"]["env"]
    assert not [name for name in env if name.startswith("LINKFLOW_")]
    assert "top-secret" not in str(env) and "aws-secret" not in str(env)
    assert env["PATH"] == "/usr/bin:/bin"


async def test_without_the_sandbox_the_code_cannot_write_files():
    with pytest.raises(NodeUserError, match="File too large"):
        await run_in(SANDBOXES["unsafe_process"], "with open('out.txt', 'w') as f:\n    f.write('x' * 10)\nreturn items")


async def test_in_the_sandbox_writes_stay_in_a_private_tmp():
    code = """
        import os
        with open('out.txt', 'w') as f:
            f.write('x' * 10)
        return [{'cwd': os.getcwd(), 'files': sorted(os.listdir('.'))}]
    """
    assert await run_in(SANDBOXES["bwrap"], code) == [{"json": {"cwd": "/tmp", "files": ["out.txt"]}}]
    [item] = await run_in(SANDBOXES["bwrap"], "import os\nreturn [{'files': os.listdir('/tmp')}]")
    assert item["json"]["files"] == []  # the next run starts empty


async def test_only_the_standard_library_is_importable(run_code):
    with pytest.raises(NodeUserError, match="ModuleNotFoundError: No module named 'pydantic'"):
        await run_code("import pydantic")


async def test_limits_are_validated(run_code):
    with pytest.raises(NodeUserError, match="memory_mb"):
        await run_code("return items", memory_mb=8)


async def test_code_is_not_expression_evaluated(run_code):
    out = await run_code("return [{'t': f\"{{{len(items)}}}\", 'raw': '{{ $json.n }}'}]")
    assert out == [{"json": {"t": "{2}", "raw": "{{ $json.n }}"}}]


async def test_processes_started_by_the_code_are_killed_when_it_ends(run_code):
    code = """
        import subprocess
        try:
            child = subprocess.Popen(['/bin/sleep', '60'])
        except OSError as exc:  # RLIMIT_NPROC stops it when the worker is not root
            return [{'pid': None, 'error': str(exc)}]
        return [{'pid': child.pid}]
    """
    [item] = await run_code(code)
    pid = item["json"]["pid"]
    if pid is None:
        assert "Resource temporarily unavailable" in item["json"]["error"]
        return
    for _ in range(50):
        if not _alive(pid):
            break
        await asyncio.sleep(0.05)
    assert not _alive(pid)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"  # a zombie waiting to be reaped is dead
    except FileNotFoundError:
        return False
