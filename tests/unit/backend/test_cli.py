import json
import subprocess
import sys

from backend.cli import main


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_unknown_command_exits_nonzero_with_a_clear_message():
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr


def test_bad_option_exits_nonzero():
    result = run_cli("serve", "--role", "database")
    assert result.returncode == 2
    assert "invalid choice: 'database'" in result.stderr


def test_db_upgrade_then_user_create(capsys):
    assert main(["db", "upgrade"]) == 0
    assert main(["user", "create", "--email", "Ada@Example.com", "--password", "correct horse",
                 "--admin"]) == 0
    created = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert created["email"] == "ada@example.com" and created["admin"] is True


def test_user_create_refuses_duplicates_and_short_passwords(capsys):
    main(["db", "upgrade"])
    assert main(["user", "create", "--email", "a@b.io", "--password", "12345678"]) == 0
    assert main(["user", "create", "--email", "A@b.io", "--password", "12345678"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["user", "create", "--email", "c@b.io", "--password", "short"]) == 2
    assert "at least 8 characters" in capsys.readouterr().err


def test_invalid_settings_are_reported_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("LINKFLOW_MODE", "production")
    assert main(["db", "current"]) == 2
    assert "refusing to start in production mode" in capsys.readouterr().err


def test_run_refuses_input_nested_too_deeply_with_exit_2(tmp_path, capsys):
    from backend.executions.local_run import run_file

    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps({"name": "w", "connections": [], "nodes": [
        {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]}]}))
    assert run_file(str(workflow), "[" * 5_000 + "]" * 5_000) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error == "--input is nested 5,000 levels deep; at most 200 levels are accepted"


SUM_WORKFLOW = {"name": "sum", "connections": [{"from": "t", "to": "s"}], "nodes": [
    {"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]},
    {"id": "s", "name": "Size", "type": "set", "position": [1, 0], "parameters": {
        "keep_only_set": True, "fields": [{"name": "size", "value": "{{ len($json.text) }}"}]}}]}


def test_run_reads_a_large_input_from_a_file_or_standard_input(tmp_path):
    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps(SUM_WORKFLOW))
    data = tmp_path / "input.json"
    data.write_text(json.dumps({"text": "x" * 300_000}))  # past what one command-line argument may hold
    from_file = run_cli("run", str(workflow), "--input", f"@{data}")
    assert from_file.returncode == 0, from_file.stderr
    assert json.loads(from_file.stdout)["output"] == [{"json": {"size": 300_000}}]
    from_stdin = subprocess.run([sys.executable, "-m", "backend.cli", "run", str(workflow), "--input", "-"],
                                input=data.read_text(), capture_output=True, text=True, timeout=120)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert json.loads(from_stdin.stdout)["output"] == [{"json": {"size": 300_000}}]


def test_run_names_an_input_file_that_is_missing(tmp_path, capsys):
    from backend.executions.local_run import run_file

    workflow = tmp_path / "wf.json"
    workflow.write_text(json.dumps(SUM_WORKFLOW))
    assert run_file(str(workflow), f"@{tmp_path}/nope.json") == 2
    assert json.loads(capsys.readouterr().err)["error"] == (
        f"--input @{tmp_path}/nope.json: the file {tmp_path}/nope.json does not exist")
