"""Bait for the sandbox tests: a secret in our environment, a file outside /tmp, a process to kill."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

SANDBOX_UID = 65534


@pytest.fixture
def secret(configure, monkeypatch):
    """A secret in this process's environment, the way the server holds its signing key."""
    value = f"s3cret-{uuid.uuid4().hex}"
    monkeypatch.setenv("LINKFLOW_SECURITY_SECRET_KEY", value + "-padding-to-32-characters")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", value)
    configure(CODE_SANDBOX="bwrap")
    return value


@pytest.fixture
def bait_file():
    """A world-writable file outside /tmp holding a marker: the code must neither read nor change it."""
    path = f"/var/tmp/linkflow-bait-{uuid.uuid4().hex}"
    marker = f"bait-{uuid.uuid4().hex}"
    with open(path, "w") as f:
        f.write(marker)
    os.chmod(path, 0o666)
    yield path, marker
    os.unlink(path)


@pytest.fixture
def sentinel():
    """A host process running as the sandbox's uid (ours when we are not root): a kill target."""
    argv = ["sleep", "120"]
    if os.geteuid() == 0:
        argv = ["setpriv", f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups", *argv]
    process = subprocess.Popen(argv)
    yield process
    process.kill()
    process.wait()
