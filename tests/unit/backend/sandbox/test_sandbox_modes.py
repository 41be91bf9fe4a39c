"""Choosing the code sandbox: clear errors when it cannot start, never a silent unsandboxed run."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sandbox_testkit import run_code_node

from backend.app import create_app
from backend.db import migrate
from backend.sandbox import check_at_startup, code_sandbox
from backend.settings import Settings, get_settings

# What the code sees of the process table tells whether it ran in a sandbox.
PROBE = "import os\nreturn {'uid': os.getuid(), 'pids': sorted(p for p in os.listdir('/proc') if p.isdigit())}"


def _hide_bwrap(tmp_path, monkeypatch, configure):
    """A PATH with the usual tools but no bwrap, the way a fresh machine looks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("setpriv", "sleep"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    monkeypatch.setenv("PATH", str(bin_dir))
    configure(CODE_SANDBOX="bwrap")


async def test_the_default_is_the_bwrap_sandbox_and_it_works():
    assert get_settings().code.sandbox == "bwrap"
    out = await run_code_node(PROBE)
    assert out["pids"] == ["1", "2"]
    assert code_sandbox().status().ok


async def test_without_bwrap_the_code_node_says_what_to_install_and_does_not_run(tmp_path, monkeypatch, configure):
    _hide_bwrap(tmp_path, monkeypatch, configure)
    out = await run_code_node(PROBE)
    assert "uid" not in out
    assert out["error"].startswith("the Code node cannot run: bubblewrap is not installed")
    assert "apt-get install bubblewrap" in out["error"] and "LINKFLOW_CODE_SANDBOX=remote" in out["error"]


async def test_an_interpreter_the_sandbox_user_cannot_read_is_refused(tmp_path, configure):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    python = private / "python3"
    shutil.copy("/usr/bin/python3", python)
    python.chmod(0)  # as root: unreadable for uid 65534 anyway; as another user: unreadable for us
    configure(CODE_PYTHON=str(python))
    out = await run_code_node(PROBE)
    assert out["error"].startswith(f"the Code node cannot run: no interpreter for the code sandbox: {python} is not "
                                   "readable")
    assert "LINKFLOW_CODE_PYTHON" in out["error"]


async def test_a_missing_interpreter_is_named(configure):
    configure(CODE_PYTHON="/nonexistent/python3")
    out = await run_code_node(PROBE)
    assert "/nonexistent/python3 does not exist" in out["error"]


async def test_an_interpreter_outside_usr_is_mounted_read_only(configure):
    prefix = Path(tempfile.mkdtemp(prefix="linkflow-opt-python-", dir="/var/tmp"))  # pytest's tmp is 0700
    try:
        (prefix / "bin").mkdir()
        shutil.copy("/usr/bin/python3", prefix / "bin" / "python3")
        for path in (prefix, prefix / "bin"):
            path.chmod(0o755)
        configure(CODE_PYTHON=str(prefix / "bin" / "python3"))
        code = PROBE.replace("return {", "return {'executable': __import__('sys').executable, ")
        out = await run_code_node(code)
    finally:
        shutil.rmtree(prefix)
    assert out["pids"] == ["1", "2"] and out["executable"] == str(prefix / "bin" / "python3")


def test_remote_without_a_runner_url_refuses_to_start(monkeypatch):
    monkeypatch.setenv("LINKFLOW_CODE_SANDBOX", "remote")
    with pytest.raises(ValidationError, match="LINKFLOW_CODE_RUNNER_URL is required"):
        Settings()


def test_an_unknown_mode_refuses_to_start(monkeypatch):
    monkeypatch.setenv("LINKFLOW_CODE_SANDBOX", "none")
    with pytest.raises(ValidationError, match="'bwrap', 'remote', 'unsafe_process' or 'container'"):
        Settings()


async def test_container_mode_is_refused_outside_the_code_runner_role(configure):
    configure(CODE_SANDBOX="container")
    out = await run_code_node(PROBE)
    assert out["error"].startswith("the Code node cannot run: LINKFLOW_CODE_SANDBOX=container is only for "
                                   "`linkflow serve --role code-runner`")


async def test_the_unsafe_opt_out_runs_only_when_set_and_warns(configure, caplog):
    configure(CODE_SANDBOX="unsafe_process")
    with caplog.at_level(logging.WARNING, logger="linkflow.sandbox"):
        status = check_at_startup()
    assert status.mode == "unsafe_process"
    assert "WITHOUT a sandbox" in caplog.text
    out = await run_code_node(PROBE)
    assert out["pids"] != ["1", "2"]  # it really is the host's process table: that is what the name says


def test_a_failing_sandbox_is_logged_at_startup(tmp_path, monkeypatch, configure, caplog):
    _hide_bwrap(tmp_path, monkeypatch, configure)
    with caplog.at_level(logging.ERROR, logger="linkflow.sandbox"):
        status = check_at_startup()
    assert not status.ok and "Code nodes cannot run: bubblewrap is not installed" in caplog.text


@pytest.fixture
def embedded(monkeypatch):
    monkeypatch.setenv("LINKFLOW_ROLES", "embedded")
    migrate.upgrade(get_settings().database_url)


def test_ready_shows_the_mode_and_that_it_works(embedded):
    with TestClient(create_app()) as client:
        body = client.get("/ready").json()
    assert body["checks"]["code_sandbox"] == "ok"
    assert body["code_sandbox"]["mode"] == "bwrap" and body["code_sandbox"]["ok"] is True
    assert "seccomp" in body["code_sandbox"]["detail"]


def test_ready_fails_and_says_why_when_the_sandbox_cannot_start(embedded, tmp_path, monkeypatch, configure):
    _hide_bwrap(tmp_path, monkeypatch, configure)
    with TestClient(create_app()) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["code_sandbox"]
    assert "bubblewrap is not installed" in body["checks"]["code_sandbox"]
    assert body["code_sandbox"]["ok"] is False


def test_ready_of_a_process_that_runs_no_code_only_names_the_mode(configure):
    configure(CODE_SANDBOX="remote", CODE_RUNNER_URL="http://127.0.0.1:9")
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        body = client.get("/ready").json()
    assert "code_sandbox" not in body["checks"]  # an API pod does not depend on the code runner
    assert body["code_sandbox"]["mode"] == "remote" and body["code_sandbox"]["ok"] is None


async def test_refused_user_namespaces_are_explained(monkeypatch, configure):
    """What bubblewrap says where unprivileged user namespaces are off (a fake bwrap says it here)."""
    bin_dir = Path(tempfile.mkdtemp(prefix="linkflow-fake-bwrap-", dir="/var/tmp"))  # uid 65534 must exec it
    try:
        bin_dir.chmod(0o755)
        os.symlink(shutil.which("setpriv"), bin_dir / "setpriv")
        fake = bin_dir / "bwrap"
        fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely because the "
                        "kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n")
        fake.chmod(0o755)
        monkeypatch.setenv("PATH", str(bin_dir))
        configure(CODE_SANDBOX="bwrap")
        out = await run_code_node(PROBE)
    finally:
        shutil.rmtree(bin_dir)
    assert out["error"].startswith("the Code node cannot run: bubblewrap could not create its namespaces")
    assert "kernel.unprivileged_userns_clone=1" in out["error"] and "code-runner role" in out["error"]
