"""Backup -> wipe -> restore on the loopback PostgreSQL with deploy/backup/backup.py: nothing is lost.

The database gets LinkFlow's schema and data of every kind (a user and team, a workflow and its
version, an encrypted credential, a queued execution and the outbox events of all that); the
backup is the CronJob's command (pg_dump, custom format) into a folder store; then the schema is dropped,
and the restore drill's command brings back every table's rows, byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.deploy.conftest import DEPLOY, ROOT

BACKUP = DEPLOY / "backup" / "backup.py"
SEED = """
from backend.db.session import session_scope
from backend.users.service import create_user
from backend.workflows.service import create_workflow
from backend.executions.service import create_execution
from backend.credentials import service as credentials

definition = {"nodes": [{"id": "t", "name": "Start", "type": "manual_trigger", "position": [0, 0]}],
              "connections": []}
with session_scope() as session:
    user, team = create_user(session, email="restore@example.com", password="correct horse battery", is_admin=True)
    workflow = create_workflow(session, team_id=team.id, user_id=user.id, name="Kept", definition=definition)
    create_execution(session, team_id=team.id, definition=definition, workflow_id=workflow.id,
                     input_items=[{"json": {"n": 1, "text": "caf\\u00e9"}}])
    credentials.create_credential(session, team_id=team.id, actor_id=user.id, name="Key", type="api_key_header",
                                  values={"header_name": "X-API-Key", "api_key": "s3cr3t"})
"""


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([*args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return result


def snapshot(url: str) -> dict[str, list]:
    """Every table's rows as JSON text, in a stable order."""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
        return {t: [r[0] for r in conn.execute(f'SELECT row_to_json(x)::text FROM "{t}" x ORDER BY 1')]
                for t in tables}


def test_a_backup_restores_every_row_after_the_database_is_wiped(fresh_database, tmp_path):
    app_url, url = fresh_database
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LINKFLOW_DATABASE_URL": app_url,
           "LINKFLOW_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    run(str(Path(sys.executable).with_name("linkflow")), "db", "upgrade", env=env)
    run(sys.executable, "-c", SEED, env=env)
    before = snapshot(url)
    assert all(before[t] for t in ("users", "teams", "workflows", "workflow_versions", "executions", "outbox",
                                   "credentials", "alembic_version")), {t: len(r) for t, r in before.items()}

    store = tmp_path / "backups"
    store.mkdir()
    (store / "postgres-20200101T000000Z.dump").write_bytes(b"an expired backup")
    made = json.loads(run(sys.executable, str(BACKUP), "postgres", "--to", str(store), "--retention-days", "14",
                          env=env).stdout)
    assert made["pruned"] == ["postgres-20200101T000000Z.dump"] and made["bytes"] > 1000
    assert [p.name for p in store.iterdir()] == [Path(made["backup"]).name]

    with psycopg.connect(url, autocommit=True) as conn:  # the disaster
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    assert snapshot(url) == {}

    run(sys.executable, str(BACKUP), "restore-postgres", "--from", "latest", "--store", str(store),
        "--to-url", app_url, env=env)
    after = snapshot(url)
    assert after == before
    # and the app works on it: the restored user signs in with the restored password hash
    check = ("from backend.db.session import session_scope\nfrom backend.auth.passwords import verify_password\n"
             "from backend.users.models import User\nfrom sqlalchemy import select\n"
             "with session_scope() as s:\n    u = s.scalar(select(User))\n"
             "    print(verify_password(u.password_hash, 'correct horse battery'))")
    assert run(sys.executable, "-c", check, env=env).stdout.strip() == "True"


def test_backups_go_to_s3_with_retention_and_the_newest_one_restores(fresh_database, tmp_path):
    """The CronJob's path: an S3-compatible store (moto's server on loopback), old dumps pruned."""
    import time

    import boto3

    from tests.deploy.conftest import tool
    from tests.deploy.local_cluster import free_port

    app_url, url = fresh_database
    port = free_port()
    server = subprocess.Popen([str(tool("deploy-venv", "bin", "moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LINKFLOW_DATABASE_URL": app_url,
           "LINKFLOW_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path), "AWS_ACCESS_KEY_ID": "test",
           "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{port}"}
    try:
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        for _ in range(100):
            try:
                s3.create_bucket(Bucket="backups")
                break
            except Exception:  # the server is still starting
                time.sleep(0.1)
        s3.put_object(Bucket="backups", Key="postgres/postgres-20200101T000000Z.dump", Body=b"expired")
        run(str(Path(sys.executable).with_name("linkflow")), "db", "upgrade", env=env)
        run(sys.executable, "-c", SEED, env=env)
        before = snapshot(url)
        made = json.loads(run(sys.executable, str(BACKUP), "postgres", "--to", "s3://backups/postgres",
                              "--retention-days", "14", env=env).stdout)
        assert made["backup"].startswith("s3://backups/postgres/postgres-") and made["pruned"] == [
            "postgres-20200101T000000Z.dump"]
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="backups")["Contents"]]
        assert keys == [made["backup"].removeprefix("s3://backups/")]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        run(sys.executable, str(BACKUP), "restore-postgres", "--from", "latest", "--store", "s3://backups/postgres",
            "--to-url", app_url, env=env)
        assert snapshot(url) == before
    finally:
        server.terminate()
        server.wait(10)
