"""The SSH node against the sshd of `infra.sh up ssh`, printed as numbers (issue #17).

    bash deploy/local/infra.sh up ssh && eval "$(bash deploy/local/infra.sh env ssh)"
    .venv/bin/python bench/ssh.py                  # 200 commands, a 64 MB file up and down
    .venv/bin/python bench/ssh.py --commands 500 --mb 256

Commands: manual_trigger -> SSH execute (`echo $n`) on --commands items, one connection for the run.
Files: a --mb MB file of random bytes in the local storage backend -> SSH upload -> SSH download, run by
the engine in this process; the downloaded bytes are compared with the original. Prints wall times,
MB/s and the peak RSS growth (the file is streamed: the growth stays far below its size).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import os
import resource
import tempfile
import time
import uuid
from pathlib import Path

os.environ.setdefault("LINKFLOW_LOG_LEVEL", "WARNING")

from backend.engine import EngineServices, ExecutionInfo, NullStepStore, run  # noqa: E402
from backend.storage.binary import StorageBinaryStore  # noqa: E402
from backend.storage.local import LocalStorage  # noqa: E402
from nodes.builtin._ssh import normalized_fingerprint  # noqa: E402

LOOPBACK = {"http_allow_private": False, "http_allow_list": ["127.0.0.1"]}


def _login() -> dict:
    env = os.environ
    return {"host": env["LINKFLOW_TEST_SSH_HOST"], "port": int(env["LINKFLOW_TEST_SSH_PORT"]),
            "username": env["LINKFLOW_TEST_SSH_USER"], "password": None,
            "private_key": Path(env["LINKFLOW_TEST_SSH_KEY_FILE"]).read_text(), "passphrase": None,
            "host_key_fingerprint": normalized_fingerprint(Path(env["LINKFLOW_TEST_SSH_HOST_KEY_FILE"]).read_text()),
            "verify_host_key": True}


def _workflow(*steps: tuple[str, dict]) -> dict:
    nodes = [{"id": "start", "name": "start", "type": "manual_trigger", "position": [0, 0], "parameters": {}}]
    nodes += [{"id": name, "name": name, "type": "ssh", "position": [0, 0], "parameters": params,
               "credentials": {"ssh": "box"}} for name, params in steps]
    ids = [n["id"] for n in nodes]
    return {"name": "ssh bench", "settings": {}, "nodes": nodes,
            "connections": [{"from": a, "output": "main", "to": b, "input": "main"} for a, b in itertools.pairwise(ids)]}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(commands: int, mb: int) -> None:
    login = _login()

    async def credentials(credential_id: str, node_name: str) -> dict:
        return login

    with tempfile.TemporaryDirectory(prefix="linkflow-bench-ssh-") as folder:
        execution = uuid.uuid4().hex
        store = StorageBinaryStore(LocalStorage(Path(folder) / "files"), "bench", execution)
        services = EngineServices(credentials=credentials, settings=LOOPBACK, binary=store)

        async def go(workflow: dict, items: list) -> list:
            result = await run(workflow, execution=ExecutionInfo(id=execution), input_items=items,
                               store=NullStepStore(), services=services)
            assert result.status == "succeeded", result.error
            return result.output

        started = time.perf_counter()
        out = await go(_workflow(("cmd", {"command": "echo {{ $json.n }}"})), [{"json": {"n": n}} for n in range(commands)])
        took = time.perf_counter() - started
        assert [o["json"]["stdout"] for o in out] == [str(n) for n in range(commands)]
        print(f"commands: {commands} in {took:.2f} s ({commands / took:.0f}/s, one connection, a session each)")

        source = Path(folder) / "source.bin"
        digest = hashlib.sha256()
        with source.open("wb") as handle:
            for _ in range(mb):
                block = os.urandom(1024 * 1024)
                digest.update(block)
                handle.write(block)
        with source.open("rb") as handle:
            ref = await store.put(handle, mime_type="application/octet-stream", file_name="blob.bin")
        source.unlink()
        directory = f"lf-bench-{uuid.uuid4().hex[:8]}"
        await go(_workflow(("mkdir", {"command": f"mkdir -p {directory}"})), [{"json": {}}])
        before = _peak_mb()
        started = time.perf_counter()
        up = await go(_workflow(("up", {"resource": "file", "operation": "upload", "path": directory})),
                      [{"json": {}, "binary": {"data": ref}}])
        up_s = time.perf_counter() - started
        started = time.perf_counter()
        down = await go(_workflow(("down", {"resource": "file", "operation": "download",
                                            "path": f"{directory}/blob.bin"})), [{"json": {}}])
        down_s = time.perf_counter() - started
        check = hashlib.sha256()
        for chunk in store.open(down[0]["binary"]["data"]):
            check.update(chunk)
        assert check.digest() == digest.digest(), "the downloaded bytes differ"
        await go(_workflow(("rm", {"command": f"rm -r {directory}"})), [{"json": {}}])
        assert up[0]["json"]["size"] == mb * 1024 * 1024
        print(f"upload {mb} MB: {up_s:.2f} s ({mb / up_s:.1f} MB/s); download: {down_s:.2f} s ({mb / down_s:.1f} MB/s);"
              f" bytes equal; peak RSS growth during both: {_peak_mb() - before:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--mb", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(main(args.commands, args.mb))
