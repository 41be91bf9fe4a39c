"""The S3 backend against a real S3-compatible server (moto's server mode, `infra.sh up s3`)."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import timedelta

import boto3
import pytest

from backend.db import migrate
from backend.db.base import utcnow
from backend.executions import retention
from backend.settings import get_settings
from backend.storage import keys, s3
from backend.storage.binary import StorageBinaryStore
from backend.storage.ports import InvalidKey, ObjectMissing, read_all
from backend.storage.s3 import S3Storage
from backend.storage.service import get_storage, s3_options, sweep_orphans
from nodes.sdk import NodeUserError
from tests.unit.backend.executions_testkit import add_execution

MB = 1024 * 1024


def raw_client():
    settings = get_settings().storage
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_put_get_info_copy_and_missing(s3_bucket):
    storage = get_storage()
    assert storage.put("teams/t1/x.txt", b"hello") == 5
    assert read_all(storage, "teams/t1/x.txt") == b"hello"
    assert storage.info("teams/t1/x.txt").size == 5
    storage.copy("teams/t1/x.txt", "teams/t1/y.txt")
    assert read_all(storage, "teams/t1/y.txt") == b"hello"
    for call in (lambda: storage.open("teams/t1/none"), lambda: storage.info("teams/t1/none"),
                 lambda: storage.copy("teams/t1/none", "teams/t1/z")):
        with pytest.raises(ObjectMissing):
            call()
    with pytest.raises(InvalidKey):
        storage.put("../outside", b"x")


def test_a_large_upload_is_multipart_and_streams_back_in_chunks(s3_bucket):
    storage = S3Storage(replace(s3_options(get_settings().storage), multipart_threshold_bytes=5 * MB,
                                multipart_chunk_bytes=5 * MB))
    data = os.urandom(12 * MB + 3)
    assert storage.put("teams/t1/big.bin", io.BytesIO(data)) == len(data)
    head = raw_client().head_object(Bucket=s3_bucket, Key="teams/t1/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts: a multipart upload, not one PUT
    chunks = list(storage.open("teams/t1/big.bin", chunk_bytes=MB))
    assert max(len(c) for c in chunks) <= MB and b"".join(chunks) == data


def test_server_side_encryption_is_asked_for_on_every_object(s3_bucket, configure, s3_endpoint):
    configure(STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL=s3_endpoint, STORAGE_S3_BUCKET=s3_bucket,
              STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test", STORAGE_S3_SSE="AES256")
    storage = get_storage()
    storage.put("teams/t1/secret", b"s")
    storage.copy("teams/t1/secret", "teams/t1/secret-copy")
    for key in ("teams/t1/secret", "teams/t1/secret-copy"):
        assert raw_client().head_object(Bucket=s3_bucket, Key=key)["ServerSideEncryption"] == "AES256"


def test_delete_prefix_in_batches_takes_only_that_prefix(s3_bucket, monkeypatch):
    monkeypatch.setattr(s3, "_DELETE_BATCH", 3)
    storage = get_storage()
    for n in range(7):
        storage.put(f"teams/t1/executions/e1/{n}", b"x")
    storage.put("teams/t1/executions/e10/keep", b"x")
    assert storage.delete_prefix("teams/t1/executions/e1") == 7
    assert [o.key for o in storage.list("teams")] == ["teams/t1/executions/e10/keep"]


def test_an_installation_prefix_keeps_installations_apart(s3_bucket):
    base = s3_options(get_settings().storage)
    one, two = S3Storage(replace(base, prefix="one")), S3Storage(replace(base, prefix="two"))
    one.put("teams/t/a", b"1")
    assert raw_client().get_object(Bucket=s3_bucket, Key="one/teams/t/a")["Body"].read() == b"1"
    assert list(two.list("teams")) == []
    with pytest.raises(ObjectMissing):
        read_all(two, "teams/t/a")


async def test_another_teams_reference_names_nothing(s3_bucket):
    storage, execution = get_storage(), "a" * 32
    ref = await StorageBinaryStore(storage, "team-a", execution).put(io.BytesIO(b"payroll"), mime_type="text/csv")
    assert raw_client().head_object(Bucket=s3_bucket, Key=keys.binary_key("team-a", execution, ref["id"]))
    thief = StorageBinaryStore(storage, "team-b", execution)
    for forged in (ref, {**ref, "execution_id": f"../../team-a/executions/{execution}"}):
        with pytest.raises(NodeUserError, match="does not exist"):
            await thief.get(forged)
    assert list(storage.list(keys.team_prefix("team-b"))) == []


def test_retention_and_the_sweeper_delete_objects_in_s3(s3_bucket, postgres_url, configure):
    settings = get_settings().storage
    configure(DATABASE_URL=postgres_url, EXECUTIONS_RETENTION_DAYS="7", STORAGE_BACKEND="s3",
              STORAGE_S3_ENDPOINT_URL=settings.s3_endpoint_url, STORAGE_S3_BUCKET=s3_bucket,
              STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test")
    migrate.upgrade(postgres_url)
    from backend.db.session import session_scope
    from backend.users.service import create_user

    with session_scope() as session:
        _, team = create_user(session, email="s3@example.com", password="a long enough password")
        team_id = team.id
    now = utcnow()
    old, recent = (add_execution(team_id, created_at=now - timedelta(days=d)) for d in (8, 1))
    storage = get_storage()
    for execution in (old, recent):
        storage.put(keys.binary_key(team_id, execution, "b" * 32), b"file")
        storage.put(keys.step_key(team_id, execution, "n", 0, "output"), b"{}")
    orphan = "c" * 32  # its row never committed (a crash between upload and insert)
    storage.put(keys.binary_key(team_id, orphan, "d" * 32), b"orphan")

    assert retention.prune(now).executions == 1
    left = {o.key for o in storage.list("teams")}
    assert not any(old in key for key in left) and sum(recent in key for key in left) == 2
    assert sweep_orphans(now) == 0  # the orphan is younger than a day
    assert sweep_orphans(now + timedelta(days=2)) == 1
    assert {o.key for o in storage.list("teams")} == left - {keys.binary_key(team_id, orphan, "d" * 32)}


def test_a_webhook_upload_lands_in_s3_and_goes_with_its_execution(s3_bucket, postgres_url, configure):
    from fastapi.testclient import TestClient

    from backend.app import create_app
    from backend.db.session import session_scope
    from backend.executions.models import ExecutionStep
    from backend.webhooks.service import invalidate_cache
    from backend.workflows import activation
    from backend.workflows.models import Workflow
    from backend.workflows.service import save_version

    settings = get_settings().storage
    configure(DATABASE_URL=postgres_url, STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL=settings.s3_endpoint_url,
              STORAGE_S3_BUCKET=s3_bucket, STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test",
              STORAGE_INLINE_LIMIT_BYTES="100")
    migrate.upgrade(postgres_url)
    invalidate_cache()
    hook = {"id": "hook", "name": "Webhook", "type": "webhook", "version": 1, "position": [0, 0],
            "parameters": {"path": "s3/upload", "method": "POST", "respond": "last_node"}}
    with TestClient(create_app()) as api:
        signup = api.post("/api/v1/auth/signup", json={"email": "s3-hook@example.com", "password": "a long password!"})
        body = signup.json()
        team_id, headers = body["team"]["id"], {"Authorization": f"Bearer {body['access_token']}"}
        with session_scope() as session:
            workflow = Workflow(team_id=team_id, name="upload", created_by=body["user"]["id"])
            session.add(workflow)
            session.flush()
            save_version(session, workflow, {"nodes": [hook], "connections": []}, user_id=body["user"]["id"])
            activation.activate(session, workflow, user_id=body["user"]["id"])
        answer = api.post("/webhook/s3/upload", data={"note": "n" * 200},
                          files={"scan": ("scan.pdf", b"%PDF-1.7 " + os.urandom(1000), "application/pdf")})
        assert answer.status_code == 200, answer.text
        with session_scope() as session:
            step = session.query(ExecutionStep).filter_by(node_id="hook").one()
            execution_id, output_ref = step.execution_id, step.output_ref
        prefix = keys.execution_prefix(team_id, execution_id)
        assert output_ref == keys.STEP_REF_SCHEME + keys.step_key(team_id, execution_id, "hook", 0, "output")
        stored = {o.key.removeprefix(prefix + "/").split("/")[0] for o in get_storage().list(prefix)}
        assert stored == {"binary", "steps"}  # the upload and the offloaded step data, both in the bucket
        detail = api.get(f"/api/v1/executions/{execution_id}", headers=headers).json()
        ref = detail["steps"][0]["output"]["main"][0]["binary"]["scan"]  # read back from S3
        assert ref["size"] == 1009 and ref["execution_id"] == execution_id
        assert api.delete(f"/api/v1/executions/{execution_id}", headers=headers).status_code == 204
        assert list(get_storage().list(prefix)) == []
    invalidate_cache()


def test_linkflow_storage_migrate_moves_the_local_folder_into_the_bucket(s3_bucket, configure, capsys):
    import json

    from backend.cli import main
    from backend.storage.local import LocalStorage

    local = LocalStorage(get_settings().storage_path)
    local.put(keys.binary_key("team-a", "a" * 32, "b" * 32), b"upload" * 1000)
    local.put("binary/cc/" + "c" * 32, b"old")
    configure(DATABASE_URL=f"sqlite:///{get_settings().data_dir / 'm.db'}", STORAGE_BACKEND="local",
              STORAGE_S3_ENDPOINT_URL=get_settings().storage.s3_endpoint_url, STORAGE_S3_BUCKET=s3_bucket,
              STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test")
    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(get_settings().database_url)
    assert main(["storage", "migrate", "--to", "s3"]) == 0
    assert json.loads(capsys.readouterr().out)["objects"] == 2
    body = raw_client().get_object(Bucket=s3_bucket, Key=keys.binary_key("team-a", "a" * 32, "b" * 32))["Body"]
    assert body.read() == b"upload" * 1000
    assert main(["storage", "migrate", "--to", "s3"]) == 0
    assert json.loads(capsys.readouterr().out)["skipped"] == 2


def test_download_links_serve_from_s3_and_only_the_teams_own_files(s3_bucket, postgres_url, configure):
    from fastapi.testclient import TestClient

    from backend.app import create_app

    settings = get_settings().storage
    configure(DATABASE_URL=postgres_url, STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL=settings.s3_endpoint_url,
              STORAGE_S3_BUCKET=s3_bucket, STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test")
    migrate.upgrade(postgres_url)
    with TestClient(create_app()) as api:
        owners = []
        for email in ("s3-a@example.com", "s3-b@example.com"):
            body = api.post("/api/v1/auth/signup", json={"email": email, "password": "a long password!"}).json()
            owners.append((body["team"]["id"], {"Authorization": f"Bearer {body['access_token']}"}))
        (team_a, headers_a), (_, headers_b) = owners
        execution = add_execution(team_a, created_at=utcnow() - timedelta(minutes=1))
        data = os.urandom(3 * MB)
        get_storage().put(keys.binary_key(team_a, execution, "f" * 32), io.BytesIO(data))
        ref = {"id": "f" * 32, "execution_id": execution, "file_name": "big.bin"}
        assert api.post("/api/v1/storage/links", json=ref, headers=headers_b).status_code == 404
        link = api.post("/api/v1/storage/links", json=ref, headers=headers_a)
        assert link.status_code == 200 and link.json()["size"] == 3 * MB
        answer = api.get(link.json()["url"])
        assert answer.status_code == 200 and answer.content == data
        token = link.json()["url"].rsplit("/", 1)[1]
        tampered = token[:-1] + ("1" if token.endswith("0") else "0")
        assert api.get(f"/api/v1/storage/download/{tampered}").status_code == 403


def test_ready_reports_the_bucket(s3_bucket, configure, s3_endpoint):
    from fastapi.testclient import TestClient

    from backend.app import create_app

    with TestClient(create_app()) as api:
        assert api.get("/ready").json()["checks"]["storage"] == "ok"
    configure(STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL=s3_endpoint, STORAGE_S3_BUCKET="no-such-bucket",
              STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test")
    with TestClient(create_app()) as api:
        answer = api.get("/ready")
    assert answer.status_code == 503 and answer.json()["failing"] == ["storage"]


def test_linkflow_storage_create_bucket_makes_the_bucket_once(s3_endpoint, configure, capsys):
    import json
    import uuid

    from backend.cli import main

    bucket = f"lf-new-{uuid.uuid4().hex[:10]}"
    configure(STORAGE_BACKEND="s3", STORAGE_S3_ENDPOINT_URL=s3_endpoint, STORAGE_S3_BUCKET=bucket,
              STORAGE_S3_ACCESS_KEY_ID="test", STORAGE_S3_SECRET_ACCESS_KEY="test")
    assert bucket not in [b["Name"] for b in raw_client().list_buckets()["Buckets"]]
    assert main(["storage", "create-bucket"]) == 0 and json.loads(capsys.readouterr().out) == {"bucket": bucket}
    assert bucket in [b["Name"] for b in raw_client().list_buckets()["Buckets"]]
    assert main(["storage", "create-bucket"]) == 0  # there already: nothing to do
    configure(STORAGE_BACKEND="local")
    capsys.readouterr()
    assert main(["storage", "create-bucket"]) == 0 and json.loads(capsys.readouterr().out)["bucket"] is None
