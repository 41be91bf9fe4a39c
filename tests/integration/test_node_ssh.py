"""The SSH node and the ssh credential's Test against the real OpenSSH server of `infra.sh up ssh`.

Password logins need the server started by root (infra.sh then adds a private user with a password);
started by another user the password tests skip on a laptop and fail under CI=true.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

import asyncssh
import pytest

from backend.engine import EngineServices, ExecutionInfo, InMemoryStepStore, run
from backend.storage.binary import StorageBinaryStore
from backend.storage.local import LocalStorage
from nodes.builtin._ssh import HostKeyRefused, normalized_fingerprint
from nodes.builtin.ssh import Ssh
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import FakeContext, run_context, run_node

LOOPBACK = {"http_allow_private": False, "http_allow_list": ["127.0.0.1"]}
# a key exported with few bcrypt rounds keeps the passphrase test fast; bcrypt warns that few rounds are weak
pytestmark = pytest.mark.filterwarnings("ignore:.*bcrypt.kdf.. called with only:UserWarning")


@pytest.fixture
def login(ssh_server) -> dict:
    return {"host": ssh_server["host"], "port": ssh_server["port"], "username": ssh_server["user"],
            "password": None, "private_key": Path(ssh_server["key_file"]).read_text(), "passphrase": None,
            "host_key_fingerprint": normalized_fingerprint(Path(ssh_server["host_key_file"]).read_text()),
            "verify_host_key": True}


@pytest.fixture
def password(ssh_server) -> str:
    if ssh_server["password"]:
        return ssh_server["password"]
    message = ("LINKFLOW_TEST_SSH_PASSWORD is not set: the sshd of infra.sh allows password logins only when "
               "started as root")
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def workdir() -> str:
    return f"lf-test-{uuid.uuid4().hex[:12]}"  # relative: in the test user's home on the server


async def _run(login: dict, params, items=None):
    out = await run_node(Ssh, items or [{"json": {}}], params=params, credentials={"ssh": login}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_a_command_gives_stdout_stderr_and_the_exit_code(login, workdir):
    out = await _run(login, {"command": f"mkdir {workdir} && echo made && echo warn >&2"})
    assert out == [{"stdout": "made", "stderr": "warn", "code": 0, "signal": None}]
    out = await _run(login, {"command": "pwd; echo $((6*7)) > answer; cat answer; exit 3", "cwd": workdir})
    assert out[0]["code"] == 3 and out[0]["stdout"].split("\n") == [out[0]["stdout"].split("\n")[0], "42"]
    assert out[0]["stdout"].split("\n")[0].endswith("/" + workdir)  # ran in the working directory


async def test_non_zero_exit_is_data_unless_asked_to_fail(login):
    out = await _run(login, [{"command": "false"}, {"command": "ls /no-such-dir"}], [{"json": {}}, {"json": {}}])
    assert [o["code"] for o in out] == [1, 2] and "No such file or directory" in out[1]["stderr"]
    with pytest.raises(NodeUserError, match=r"exited with code 2: ls: cannot access '/no-such-dir'"):
        await _run(login, {"command": "ls /no-such-dir", "fail_on_non_zero": True})


async def test_output_is_capped_and_a_slow_command_times_out(login):
    out = await _run(login, {"command": "head -c 300000 /dev/zero | tr '\\0' x; echo done >&2",
                             "max_output_bytes": 1000})
    assert len(out[0]["stdout"]) == 1000 and out[0]["stdout_truncated"] is True
    assert out[0]["stderr"] == "done" and "stderr_truncated" not in out[0] and out[0]["code"] == 0
    marker = uuid.uuid4().hex[:8]
    with pytest.raises(NodeUserError, match="did not finish within 1 s and was stopped"):
        await _run(login, {"command": f"cd /tmp && sleep 31 && echo {marker}", "timeout_s": 1})
    # [x] in a pattern: the checking shell's own command line does not match it
    left = await _run(login, {"command": f"pgrep -a -f '[s]leep 31|[e]cho {marker}' || true"})
    assert left[0]["stdout"] == ""  # the command and its children were stopped on the server


async def test_upload_then_download_a_few_megabytes_through_the_storage_service(login, workdir, tmp_path):
    """Through the engine with the storage service's binary store (a local folder): the upload reads the file
    from storage in chunks, the download writes it back through a temporary file; the bytes match."""
    payload = os.urandom(5 * 1024 * 1024 + 123)
    execution = uuid.uuid4().hex
    store = StorageBinaryStore(LocalStorage(tmp_path / "files"), "team-a", execution)
    ref = await store.put(payload, mime_type="application/octet-stream", file_name="blob.bin")

    def node(node_id, params, x):
        return {"id": node_id, "name": node_id, "type": "ssh", "version": 1, "position": [x, 0],
                "parameters": params, "credentials": {"ssh": "box"}}

    workflow = {"name": "ssh round trip", "settings": {}, "nodes": [
        {"id": "start", "name": "start", "type": "manual_trigger", "version": 1, "position": [0, 0], "parameters": {}},
        node("up", {"resource": "file", "operation": "upload", "path": f"{workdir}/in", "file_name": "copy.bin",
                    "binary_property": "data"}, 400),
        node("down", {"resource": "file", "operation": "download", "path": "{{ $json.path }}",
                      "binary_property": "fetched"}, 600)],
        "connections": [{"from": "start", "output": "main", "to": "up", "input": "main"},
                        {"from": "up", "output": "main", "to": "down", "input": "main"}]}
    await _run(login, {"command": f"mkdir -p {workdir}/in"})

    async def credentials(credential_id: str, node_name: str) -> dict:
        return login

    services = EngineServices(credentials=credentials, settings=LOOPBACK, binary=store)
    result = await run(workflow, execution=ExecutionInfo(id=execution), input_items=[{"json": {}, "binary": {"data": ref}}],
                       store=InMemoryStepStore(), services=services)
    assert result.status == "succeeded", result.error
    [item] = result.output
    assert item["json"] == {"success": True, "path": f"{workdir}/in/copy.bin", "size": len(payload)}
    fetched = item["binary"]["fetched"]
    assert fetched["size"] == len(payload) and fetched["file_name"] == "copy.bin"
    assert hashlib.sha256(await store.get(fetched)).digest() == hashlib.sha256(payload).digest()
    remote = await _run(login, {"command": f"sha256sum {workdir}/in/copy.bin"})
    assert remote[0]["stdout"].split()[0] == hashlib.sha256(payload).hexdigest()


async def test_sftp_errors_name_the_path_and_the_servers_reason(login, workdir):
    with pytest.raises(NodeUserError, match=r"refused to read 'no/such/file.txt': No such file"):
        await _run(login, {"resource": "file", "operation": "download", "path": "no/such/file.txt"})
    await _run(login, {"command": f"mkdir -p {workdir}"})
    with pytest.raises(NodeUserError, match=f"'{workdir}' is a directory on the SSH server"):
        await _run(login, {"resource": "file", "operation": "download", "path": workdir})
    ctx = FakeContext(Ssh, {"resource": "file", "operation": "upload", "path": "no-such-dir"},
                      credentials={"ssh": login}, settings=LOOPBACK)
    ref = await ctx.put_binary(b"x", mime_type="text/plain", file_name="x.txt")
    with pytest.raises(NodeUserError, match=r"refused to write 'no-such-dir/x.txt': No such file"):
        await run_context(Ssh, ctx, [{"json": {}, "binary": {"data": ref}}])
    with pytest.raises(NodeUserError, match=r"has no binary data 'data'"):
        await _run(login, {"resource": "file", "operation": "upload", "path": workdir})


async def test_a_wrong_host_key_is_refused_before_logging_in(login, ssh_server):
    presented = login["host_key_fingerprint"]
    other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    with pytest.raises(HostKeyRefused) as caught:
        await _run({**login, "host_key_fingerprint": other}, {"command": "touch should-not-exist"})
    assert f"presented host key {presented} (ssh-ed25519), not the {other}" in caught.value.message
    with pytest.raises(HostKeyRefused, match=re.escape(presented) + ".*no host key fingerprint"):
        await _run({**login, "host_key_fingerprint": ""}, {"command": "true"})
    out = await _run(login, {"command": "ls should-not-exist"})
    assert out[0]["code"] != 0  # the refused run never ran its command
    # checking turned off explicitly: any key is accepted
    assert (await _run({**login, "host_key_fingerprint": "", "verify_host_key": False},
                       {"command": "echo ok"}))[0]["stdout"] == "ok"


async def test_a_wrong_key_is_refused_clearly(login):
    other = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    with pytest.raises(NodeUserError, match=r"refused the login as '\w+' with the private key \(Permission denied"):
        await _run({**login, "private_key": other}, {"command": "true"})


async def test_a_wrong_password_is_refused_clearly_and_the_right_one_logs_in(login, password):
    with pytest.raises(NodeUserError, match=r"refused the login as '\w+' with the password") as caught:
        await _run({**login, "private_key": None, "password": password + "x"}, {"command": "true"})
    assert password + "x" not in caught.value.message
    assert (await _run({**login, "private_key": None, "password": password}, {"command": "id -un"}))[0][
        "stdout"] == login["username"]


async def test_an_encrypted_key_needs_its_passphrase(login):
    encrypted = asyncssh.import_private_key(login["private_key"]).export_private_key(
        passphrase="s3cret", rounds=4).decode()
    assert (await _run({**login, "private_key": encrypted, "passphrase": "s3cret"},
                       {"command": "echo in"}))[0]["stdout"] == "in"
    with pytest.raises(NodeUserError, match="private key could not be read.*passphrase"):
        await _run({**login, "private_key": encrypted, "passphrase": "wrong"}, {"command": "true"})


async def test_the_node_reads_no_local_ssh_files(login, monkeypatch, tmp_path):
    """A key in ~/.ssh that the server would accept, and a ~/.ssh/config naming it, are never used."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(login["private_key"])
    (home / ".ssh" / "id_ed25519").chmod(0o600)
    (home / ".ssh" / "config").write_text(f"Host *\n  IdentityFile {home}/.ssh/id_ed25519\n  User {login['username']}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(NodeUserError, match="refused the login"):
        await _run({**login, "private_key": None, "password": "not-the-password"}, {"command": "true"})


async def test_loopback_is_refused_without_the_allow_list(login):
    with pytest.raises(AddressRefused):
        await run_node(Ssh, [{"json": {}}], params={"command": "true"}, credentials={"ssh": login})


async def test_the_credential_test(login, configure):
    from backend.credentials.types.ssh import Ssh as SshCredential
    from backend.credentials.types.ssh import SshFields

    configure(HTTP_ALLOW_LIST="127.0.0.1")
    fields = {k: v for k, v in login.items() if v is not None}
    ok = await SshCredential().test(SshFields(**fields))
    assert ok.ok and f"as {login['username']} (SSH-2.0-OpenSSH_" in ok.message
    assert login["host_key_fingerprint"] in ok.message
    wrong = await SshCredential().test(SshFields(**{**fields, "password": "wrong-pw", "private_key": None}))
    assert not wrong.ok and "refused the login" in wrong.message and "wrong-pw" not in wrong.message
    unknown = await SshCredential().test(SshFields(**{**fields, "host_key_fingerprint": ""}))
    assert not unknown.ok and f"presented host key {login['host_key_fingerprint']}" in unknown.message


async def test_the_credential_test_by_password(login, configure, password):
    from backend.credentials.types.ssh import Ssh as SshCredential
    from backend.credentials.types.ssh import SshFields

    configure(HTTP_ALLOW_LIST="127.0.0.1")
    fields = {k: v for k, v in login.items() if v is not None and k != "private_key"}
    by_password = await SshCredential().test(SshFields(**{**fields, "password": password}))
    assert by_password.ok, by_password.message


async def test_an_n8n_ssh_workflow_converts_and_runs_like_in_n8n(login, ssh_server, workdir, tmp_path):
    """tests/fixtures/n8n/ssh_backup_report.json: a command, a download, an upload and a command again, with
    the two n8n credential types (password, private key) bound by name."""
    from backend.workflows.n8n.service import convert_file

    fixture = Path(__file__).parents[1] / "fixtures" / "n8n" / "ssh_backup_report.json"
    result = convert_file(fixture.read_bytes())
    nodes = {n["id"]: n for n in result.workflow["nodes"]}
    for ref in result.credentials:
        nodes[ref["node"]].setdefault("credentials", {})[ref["slot"]] = ref["name"]
    by_password = {**login, "private_key": None, "password": ssh_server["password"]}  # a root-started sshd has one
    logins = {"Backup box": by_password if ssh_server["password"] else login, "Backup box key": login}

    async def credentials(credential_id: str, node_name: str) -> dict:
        return logins[credential_id]

    home = (await _run(login, {"command": "pwd"}))[0]["stdout"]
    execution = uuid.uuid4().hex
    store = StorageBinaryStore(LocalStorage(tmp_path / "files"), "team-a", execution)
    services = EngineServices(credentials=credentials, settings=LOOPBACK, binary=store)
    item = {"home": home, "folder": workdir, "report": "hello ada"}
    run_result = await run(result.workflow, execution=ExecutionInfo(id=execution), input_items=[{"json": item}],
                           store=InMemoryStepStore(), services=services)
    assert run_result.status == "succeeded", run_result.error
    assert [i["json"] for i in run_result.output] == [{"code": 4, "signal": None, "stdout": "hello ada", "stderr": ""}]
    written = await _run(login, {"command": f"cat {workdir}/report.txt {workdir}/copy.txt"})
    assert written[0]["stdout"] == "hello adahello ada"


async def test_an_upload_reads_only_the_teams_stored_files_never_a_local_path(login, workdir, tmp_path):
    """Item data is user-editable: a binary reference naming a local file, or another team's, uploads nothing."""
    execution = uuid.uuid4().hex
    storage = LocalStorage(tmp_path / "files")
    theirs = await StorageBinaryStore(storage, "team-b", execution).put(b"team b's secret", mime_type="text/plain",
                                                                        file_name="b.txt")
    store = StorageBinaryStore(storage, "team-a", execution)

    async def credentials(credential_id: str, node_name: str) -> dict:
        return login

    workflow = {"name": "forged", "settings": {}, "nodes": [
        {"id": "start", "name": "start", "type": "manual_trigger", "version": 1, "position": [0, 0], "parameters": {}},
        {"id": "up", "name": "up", "type": "ssh", "version": 1, "position": [200, 0], "credentials": {"ssh": "box"},
         "parameters": {"resource": "file", "operation": "upload", "path": workdir, "file_name": "x.bin"}}],
        "connections": [{"from": "start", "output": "main", "to": "up", "input": "main"}]}
    await _run(login, {"command": f"mkdir -p {workdir}"})
    for forged in ({"id": "../../../../etc/passwd", "file_name": "passwd"}, {"id": "/etc/passwd"},
                   {**theirs, "file_name": "b.txt"}):
        result = await run(workflow, execution=ExecutionInfo(id=execution),
                           input_items=[{"json": {}, "binary": {"data": forged}}], store=InMemoryStepStore(),
                           services=EngineServices(credentials=credentials, settings=LOOPBACK, binary=store))
        assert result.status == "failed" and "does not exist" in str(result.error), result.error
    listing = await _run(login, {"command": f"ls -A {workdir}"})
    assert listing[0]["stdout"] == ""  # nothing was written on the server


async def test_a_lost_connection_is_a_transient_error_so_the_retry_settings_apply(login):
    from nodes.sdk import NodeTransientError

    # the command kills its own sshd session process: the server drops the connection mid-command
    with pytest.raises(NodeTransientError, match=r"item 0: the connection to the SSH server .* was lost"):
        await _run(login, {"command": "kill -9 $PPID; sleep 5"}, [{"json": {}}, {"json": {}}])
