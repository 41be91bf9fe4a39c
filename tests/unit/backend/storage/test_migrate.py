"""`linkflow storage migrate`: local objects and step files of before the storage service, into a target."""

from __future__ import annotations

import json
from datetime import timedelta

from executions_testkit import add_execution
from sqlalchemy import update

from backend.cli import main
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.executions.models import ExecutionStep
from backend.settings import get_settings
from backend.storage import keys
from backend.storage.local import LocalStorage
from backend.storage.migrate import migrate
from backend.storage.ports import read_all


def test_objects_and_old_step_files_move_and_a_second_run_skips_them(api_user, tmp_path):
    team = api_user("owner@example.com").team_id
    execution = add_execution(team, created_at=utcnow() - timedelta(hours=1))
    source, target = LocalStorage(get_settings().storage_path), LocalStorage(tmp_path / "target")
    source.put(keys.binary_key(team, execution, "a" * 32), b"upload")
    source.put("binary/bb/" + "b" * 32, b"old upload")
    old_file = get_settings().storage_path / "executions" / execution / "t.0.output.json"
    old_file.parent.mkdir(parents=True)
    old_file.write_text(json.dumps({"main": [{"json": {"big": "x" * 100}}]}))
    with session_scope() as session:
        session.execute(update(ExecutionStep).where(ExecutionStep.execution_id == execution)
                        .values(output=None, output_ref=str(old_file)))

    done = migrate(source, target)
    assert done.as_dict() == {"objects": 2, "bytes": 16, "skipped": 0, "step_refs": 1, "failures": 0}
    assert read_all(target, keys.binary_key(team, execution, "a" * 32)) == b"upload"
    assert read_all(target, "binary/bb/" + "b" * 32) == b"old upload"
    with session_scope() as session:
        ref = session.query(ExecutionStep.output_ref).filter_by(execution_id=execution).scalar()
    assert ref == keys.STEP_REF_SCHEME + keys.step_key(team, execution, "t", 0, "output")
    assert json.loads(read_all(target, ref.removeprefix(keys.STEP_REF_SCHEME)))["main"][0]["json"]["big"] == "x" * 100

    again = migrate(source, target)
    assert again.as_dict() == {"objects": 0, "bytes": 0, "skipped": 2, "step_refs": 0, "failures": 0}


def test_a_missing_step_file_is_counted_and_its_row_left_alone(api_user, tmp_path):
    team = api_user("owner@example.com").team_id
    execution = add_execution(team, created_at=utcnow() - timedelta(hours=1))
    with session_scope() as session:
        session.execute(update(ExecutionStep).where(ExecutionStep.execution_id == execution)
                        .values(output_ref="/nonexistent/gone.json"))
    done = migrate(LocalStorage(get_settings().storage_path), LocalStorage(tmp_path / "target"))
    assert done.failures == 1 and done.step_refs == 0
    with session_scope() as session:
        assert session.query(ExecutionStep.output_ref).filter_by(execution_id=execution).scalar() == \
            "/nonexistent/gone.json"


def test_the_sweep_command(api_user, capsys):
    api_user("owner@example.com")
    assert main(["storage", "sweep"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": 0}
