"""Email Trigger (IMAP) against the real Dovecot of `infra.sh up imap` and the real PostgreSQL and Redis: emails
APPENDed to a mailbox become one queued execution each (with their fields and attachments), IDLE or polling;
deactivation stops the listener; a restart does not run an email again; a `linkflow scheduler` SIGKILLed
between queueing an email's execution and marking it read loses no email and runs none twice."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import signal
import time
import uuid
from collections import Counter
from email.message import EmailMessage

import pytest
from crash_testkit import start, stop
from sqlalchemy import func, select

from backend.credentials.registry import default_registry as credential_types
from backend.credentials.service import create_credential
from backend.db import migrate
from backend.db.session import session_scope
from backend.executions.models import Execution
from backend.listeners.models import TriggerListener
from backend.listeners.runner import LOCK_KEY, listener_loop
from backend.schedules.leader import PostgresLeader
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage
from backend.users.service import create_user
from backend.workflows.activation import activate, deactivate
from backend.workflows.service import create_workflow, get_workflow

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
def platform(configure, postgres_url, redis_url, tmp_path):
    # Dispatch goes to Redis and no worker consumes it: executions stay queued, countable.
    configure(DATABASE_URL=postgres_url, REDIS_URL=redis_url, QUEUE_BACKEND="redis", HTTP_ALLOW_LIST="127.0.0.1",
              LOG_FORMAT="json", STORAGE_PATH=str(tmp_path / "files"))
    migrate.upgrade(postgres_url)
    with session_scope() as session:
        return create_user(session, email="imap@example.com", password="long enough")[1].id


@contextlib.contextmanager
def client(server: dict):
    imap = imaplib.IMAP4(server["host"], server["port"], timeout=10)
    imap.login(server["user"], server["password"])
    try:
        yield imap
    finally:
        imap.logout()


@pytest.fixture
def mailbox(imap_server):
    """A fresh mailbox of the test user, deleted afterwards."""
    name = f"lf-{uuid.uuid4().hex[:10]}"
    with client(imap_server) as imap:
        assert imap.create(name)[0] == "OK"
    yield name
    with client(imap_server) as imap:
        imap.delete(name)


def append(server: dict, mailbox: str, raw: bytes) -> None:
    with client(server) as imap:
        typ, data = imap.append(mailbox, None, None, raw)
        assert typ == "OK", data


def seen(server: dict, mailbox: str) -> list[int]:
    with client(server) as imap:
        imap.select(mailbox, readonly=True)
        return sorted(int(uid) for uid in imap.uid("SEARCH", "SEEN")[1][0].split())


def plain(subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Shop <shop@example.com>", "linkflow@example.com", subject
    message.set_content(f"body of {subject}")
    return message.as_bytes()


def with_invoice(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = '"Bäckerei Müller" <orders@example.com>'
    message["To"], message["Subject"] = "linkflow@example.com", subject
    message.set_content("Grüße aus Köln, die Rechnung hängt an.")
    message.add_alternative("<p>Grüße aus <b>Köln</b></p>", subtype="html")
    message.add_attachment(PDF, maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    return message.as_bytes()


def imap_workflow(team_id: str, server: dict, parameters: dict, **login) -> str:
    with session_scope() as session:
        credential_id = create_credential(session, team_id=team_id, name="mailbox", type="imap", values={
            "host": server["host"], "port": server["port"], "security": "none", "user": server["user"],
            "password": server["password"], **login}).id
        definition = {"nodes": [
            {"id": "t", "name": "Email", "type": "email_read_imap", "version": 1, "position": [0, 0],
             "parameters": parameters, "credentials": {"imap": credential_id}},
            {"id": "n", "name": "Next", "type": "noop", "version": 1, "position": [1, 0]}],
            "connections": [{"from": "t", "to": "n"}]}
        workflow = create_workflow(session, team_id=team_id, user_id=None, name="mail", definition=definition)
        activate(session, workflow, user_id=None)
        return workflow.id


def runs(workflow_id: str) -> list[dict]:
    with session_scope() as session:
        rows = session.scalars(select(Execution).where(Execution.workflow_id == workflow_id)
                               .order_by(Execution.created_at))
        return [{"id": e.id, "mode": e.mode, "status": e.status, **e.input[0]} for e in rows]


def count(workflow_id: str) -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(Execution).where(Execution.workflow_id == workflow_id))


def listener(workflow_id: str) -> TriggerListener | None:
    with session_scope() as session:
        row = session.scalars(select(TriggerListener).where(TriggerListener.workflow_id == workflow_id)).first()
        if row is not None:
            session.expunge(row)
        return row


async def until(predicate, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(predicate)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}{await asyncio.to_thread(_listeners)}")


def _listeners() -> str:
    with session_scope() as session:
        return "".join(f"; listener {r.status}: {r.error or r.detail}" for r in session.scalars(select(TriggerListener)))


@contextlib.asynccontextmanager
async def running_listeners(postgres_url: str):
    stopping = asyncio.Event()
    task = asyncio.create_task(listener_loop(stopping, PostgresLeader(postgres_url, key=LOCK_KEY, name="test:1")))
    try:
        yield
    finally:
        stopping.set()
        await asyncio.wait_for(task, 40)


async def test_new_emails_start_executions_with_their_files_until_deactivated(platform, postgres_url, imap_server,
                                                                              mailbox):
    append(imap_server, mailbox, plain("waiting before activation"))  # unread: new to a first start
    workflow_id = imap_workflow(platform, imap_server, {"mailbox": mailbox, "download_attachments": True})
    async with running_listeners(postgres_url):
        row = await until(lambda: (r := listener(workflow_id)) and r.status == "listening" and r, 20,
                          "the listener to log in")
        assert "IDLE" in row.detail and mailbox in row.detail
        append(imap_server, mailbox, with_invoice("Rechnung 42"))
        found = await until(lambda: len(r := runs(workflow_id)) >= 2 and r, 20, "two executions")
        first, second = found
        assert (first["mode"], first["status"]) == ("trigger", "queued")
        assert first["json"]["subject"] == "waiting before activation"
        assert first["json"]["textPlain"].strip() == "body of waiting before activation"
        assert first["json"]["attributes"]["uid"] == 1 and "binary" not in first
        mail = second["json"]
        assert mail["subject"] == "Rechnung 42" and mail["from"] == "Bäckerei Müller <orders@example.com>"
        assert mail["textPlain"].strip() == "Grüße aus Köln, die Rechnung hängt an."
        assert mail["textHtml"].strip() == "<p>Grüße aus <b>Köln</b></p>"
        ref = second["binary"]["attachment_0"]
        assert (ref["file_name"], ref["mime_type"], ref["size"]) == ("Rechnung März.pdf", "application/pdf", len(PDF))
        assert ref["execution_id"] == second["id"]  # stored under the execution it belongs to
        assert await StorageBinaryStore(get_storage(), platform, second["id"]).get(ref) == PDF
        await until(lambda: seen(imap_server, mailbox) == [1, 2], 10, "both emails marked read")

        with session_scope() as session:
            deactivate(session, get_workflow(session, platform, workflow_id), user_id=None)
        await asyncio.sleep(3)  # the runner reconciles every second
        append(imap_server, mailbox, plain("after deactivation"))
        await asyncio.sleep(4)
    assert count(workflow_id) == 2
    assert seen(imap_server, mailbox) == [1, 2]


async def test_polling_without_idle_and_a_restart_run_each_email_once(platform, postgres_url, imap_server, mailbox):
    """Action "nothing": the emails stay unread, so only the saved UIDVALIDITY + last UID keep a restart from
    running them again. Custom criteria pick the orders; a malformed email still gives an item."""
    append(imap_server, mailbox, plain("order 1"))
    append(imap_server, mailbox, plain("newsletter"))
    broken = (b"From: x@example.com\r\nSubject: order 2 (broken)\r\nContent-Type: multipart/mixed; boundary=zz\r\n"
              b"\r\n--zz\r\nContent-Type: text/plain; charset=no-such-charset\r\n\r\nhello\r\n--zz\r\n"
              b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n!!not base64")
    append(imap_server, mailbox, broken)
    workflow_id = imap_workflow(platform, imap_server, {
        "mailbox": mailbox, "use_idle": False, "poll_interval_s": 1, "post_process_action": "nothing",
        "format": "resolved", "custom_email_config": '["ALL", ["SUBJECT", "order"]]'})
    async with running_listeners(postgres_url):
        row = await until(lambda: (r := listener(workflow_id)) and r.status == "listening" and r, 20, "the listener")
        assert "polling every 1s" in row.detail
        await until(lambda: count(workflow_id) >= 2, 20, "two executions")
    append(imap_server, mailbox, plain("order 3"))  # while no listener runs
    async with running_listeners(postgres_url):
        await until(lambda: count(workflow_id) >= 3, 20, "the third execution")
        await asyncio.sleep(3)  # three more polls: nothing runs again
    found = [run["json"] for run in runs(workflow_id)]
    assert [mail["subject"] for mail in found] == ["order 1", "order 2 (broken)", "order 3"]
    assert found[0]["from"] == {"value": [{"address": "shop@example.com", "name": "Shop"}],
                                "text": "Shop <shop@example.com>"}
    assert found[1]["text"] == "hello" and found[1]["attachments"][0]["contentType"] == "application/octet-stream"
    assert seen(imap_server, mailbox) == []


async def test_a_killed_listener_loses_no_email_and_runs_none_twice(platform, imap_server, mailbox, tmp_path):
    """The first `linkflow scheduler` dies (SIGKILL, tests/integration/crashing.py) right after its 25th execution
    is committed, before that email is marked read: the second one marks it without running it again and runs
    the rest once each."""
    total = 40
    for n in range(total):
        append(imap_server, mailbox, plain(f"n={n}"))
    workflow_id = imap_workflow(platform, imap_server, {"mailbox": mailbox})
    log_path = tmp_path / "scheduler.log"
    first = start(["scheduler"], log_path, moment="after-listener-queued")
    try:
        first.wait(90)
    finally:
        stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL, log_path.read_text()[-3000:]
    assert count(workflow_id) == 25
    assert seen(imap_server, mailbox) == list(range(1, 25))  # the 25th is queued, not yet marked read
    second = start(["scheduler"], log_path)
    try:
        await until(lambda: seen(imap_server, mailbox) == list(range(1, total + 1)), 120, "every email read")
        append(imap_server, mailbox, plain(f"n={total}"))
        await until(lambda: count(workflow_id) == total + 1, 30, "the email after the restart")
        await asyncio.sleep(2)
    finally:
        stop(second)
    output = log_path.read_text()[-3000:]
    assert second.returncode == 0, output
    subjects = Counter(run["json"]["subject"] for run in runs(workflow_id))
    assert subjects == Counter(f"n={n}" for n in range(total + 1)), output


async def test_the_credential_test_logs_in_or_says_why_not(configure, imap_server):
    configure(HTTP_ALLOW_LIST="127.0.0.1")
    imap = credential_types().get("imap")
    values = {"host": imap_server["host"], "port": imap_server["port"], "security": "none",
              "user": imap_server["user"], "password": imap_server["password"]}
    ok = await imap.test(imap.Fields.model_validate(values))
    assert ok.ok and f"as {imap_server['user']}" in ok.message
    refused = await imap.test(imap.Fields.model_validate({**values, "password": "wrong"}))
    assert not refused.ok and "refused the login" in refused.message and "wrong" not in refused.message
    configure(HTTP_ALLOW_LIST="127.0.0.1,localhost")
    tls = {**values, "host": "localhost", "port": imap_server["imaps_port"], "security": "tls"}
    untrusted = await imap.test(imap.Fields.model_validate(tls))  # infra.sh's certificate is self-signed
    assert not untrusted.ok and "certificate is not trusted" in untrusted.message
    assert (await imap.test(imap.Fields.model_validate({**tls, "allow_unauthorized_certs": True}))).ok
    starttls = {**values, "host": "localhost", "security": "starttls", "allow_unauthorized_certs": True}
    assert (await imap.test(imap.Fields.model_validate(starttls))).ok
    plain_on_tls_port = await imap.test(imap.Fields.model_validate({**tls, "security": "none"}))
    assert not plain_on_tls_port.ok
    configure(HTTP_ALLOW_LIST="")
    blocked = await imap.test(imap.Fields.model_validate(values))
    assert not blocked.ok and "refused to connect" in blocked.message


async def test_the_trigger_works_over_imaps_with_idle(platform, configure, postgres_url, imap_server, mailbox):
    configure(HTTP_ALLOW_LIST="127.0.0.1,localhost")
    workflow_id = imap_workflow(platform, {**imap_server, "host": "localhost", "port": imap_server["imaps_port"]},
                                {"mailbox": mailbox, "format": "raw"}, security="tls", allow_unauthorized_certs=True)
    async with running_listeners(postgres_url):
        row = await until(lambda: (r := listener(workflow_id)) and r.status == "listening" and r, 20, "the listener")
        assert "IDLE" in row.detail and "localhost:" in row.detail
        append(imap_server, mailbox, plain("over TLS"))
        [run] = await until(lambda: runs(workflow_id), 20, "the execution")
        await until(lambda: seen(imap_server, mailbox) == [1], 10, "the email marked read")
    assert "Subject: over TLS" in run["json"]["raw"] and run["json"]["attributes"]["uid"] == 1


async def test_a_renumbered_mailbox_counts_its_emails_as_new(platform, postgres_url, imap_server, mailbox):
    """The mailbox is deleted and made again while no listener runs: a new UIDVALIDITY, and UID 1 again. The old
    cursor (last UID 2) must not hide the new email."""
    append(imap_server, mailbox, plain("first"))
    append(imap_server, mailbox, plain("second"))
    workflow_id = imap_workflow(platform, imap_server, {"mailbox": mailbox, "post_process_action": "nothing",
                                                        "use_idle": False, "poll_interval_s": 1})
    async with running_listeners(postgres_url):
        await until(lambda: count(workflow_id) >= 2, 20, "two executions")
    with client(imap_server) as imap:
        assert imap.delete(mailbox)[0] == "OK" and imap.create(mailbox)[0] == "OK"
    append(imap_server, mailbox, plain("after renumbering"))
    async with running_listeners(postgres_url):
        await until(lambda: count(workflow_id) >= 3, 20, "the email in the renumbered mailbox")
        await asyncio.sleep(2)
    found = runs(workflow_id)
    assert [run["json"]["subject"] for run in found] == ["first", "second", "after renumbering"]
    assert found[2]["json"]["attributes"]["uid"] == 1


async def test_an_imported_n8n_email_trigger_workflow_reads_the_mailbox(platform, postgres_url, imap_server, mailbox):
    from backend.workflows.n8n.service import import_n8n

    with session_scope() as session:
        create_credential(session, team_id=platform, name="Support inbox", type="imap", values={
            "host": imap_server["host"], "port": imap_server["port"], "security": "none",
            "user": imap_server["user"], "password": imap_server["password"]})
    n8n = {"name": "Support mail", "connections": {"Email Trigger (IMAP)": {"main": [[{"node": "Next", "type": "main",
                                                                                       "index": 0}]]}},
           "nodes": [{"name": "Email Trigger (IMAP)", "type": "n8n-nodes-base.emailReadImap", "typeVersion": 2,
                      "position": [0, 0], "credentials": {"imap": {"id": "3", "name": "Support inbox"}},
                      "parameters": {"mailbox": mailbox, "format": "resolved",
                                     "options": {"customEmailConfig": '["UNSEEN", ["FROM", "shop@example.com"]]'}}},
                     {"name": "Next", "type": "n8n-nodes-base.noOp", "typeVersion": 1, "position": [200, 0],
                      "parameters": {}}]}
    with session_scope() as session:
        workflow, _ = import_n8n(session, n8n, team_id=platform, user_id=None)
        activate(session, workflow, user_id=None)
        workflow_id = workflow.id
    append(imap_server, mailbox, with_invoice("not from the shop"))
    append(imap_server, mailbox, plain("from the shop"))
    async with running_listeners(postgres_url):
        [run] = await until(lambda: runs(workflow_id), 20, "the execution")
        await asyncio.sleep(2)
    assert run["json"]["subject"] == "from the shop"
    assert run["json"]["from"]["value"] == [{"address": "shop@example.com", "name": "Shop"}]
    assert count(workflow_id) == 1 and seen(imap_server, mailbox) == [2]
