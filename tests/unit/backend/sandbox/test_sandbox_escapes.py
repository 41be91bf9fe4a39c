"""Escape attempts, each run as a real Code node through the engine in the default (bwrap) sandbox.

Every test checks both sides: the attempt failed inside, and the harm did not happen outside
(the secret is not in the output, the bait file is intact, the bait process is alive, the
host server saw no connection). What issue #11's attacker did from a fresh sign-up is here.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from pathlib import Path

import pytest
from sandbox_testkit import code_node_failure, run_code_node

from backend.settings import get_settings

REPO = Path(__file__).resolve().parents[4]
# Attacks that would hurt the machine if the sandbox failed open (SIGKILL to every process, a fork
# bomb, ptrace of PID 1, a mount over /tmp) first check that they are in a fresh PID namespace, and report instead of attacking if not.
ONLY_IN_A_SANDBOX = """
        import os
        if sorted(p for p in os.listdir('/proc') if p.isdigit()) != ['1', '2']:
            return {'refused': 'not in a PID namespace: this attack would hit the host'}
"""


@pytest.fixture(autouse=True)
def _default_sandbox(secret):
    """Every test here runs with a secret in our environment and the default sandbox."""


async def test_no_process_environment_holds_a_secret(secret):
    code = """
        import os
        found = {}
        for pid in ['self', '1', str(items[0]['json']['parent']), *os.listdir('/proc')]:
            try:
                with open(f'/proc/{pid}/environ', 'rb') as f:
                    found[pid] = f.read().decode(errors='replace').replace(chr(0), ' ')
            except OSError as exc:
                found[pid] = type(exc).__name__
        return {'environ': found, 'env': dict(os.environ), 'pids': sorted(p for p in os.listdir('/proc') if p.isdigit())}
    """
    out = await run_code_node(code, [{"json": {"parent": os.getpid()}}])
    assert out["pids"] == ["1", "2"]  # only the sandbox's init and the runner: no host process is visible
    assert secret not in json.dumps(out)
    assert out["environ"][str(os.getpid())] == "FileNotFoundError"  # our pid does not exist in there
    assert out["environ"]["1"] == ""  # bubblewrap's init starts from an empty environment
    assert set(out["env"]) <= {"PATH", "PWD", "LC_CTYPE"}


async def test_the_data_folder_database_and_checkout_are_invisible(secret):
    data_dir = get_settings().data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / "linkflow.db"
    with sqlite3.connect(database) as db:
        db.execute("create table credentials (secret text)")
        db.execute("insert into credentials values (?)", (secret,))
    paths = [str(database), str(data_dir), str(REPO / "backend" / "settings.py"), str(REPO), "/etc/shadow",
             "/etc/passwd", "/root", "/home", "/var", "/work"]
    code = """
        import os
        seen = {}
        for path in items[0]['json']['paths']:
            try:
                seen[path] = os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(100).decode('latin-1')
            except OSError as exc:
                seen[path] = type(exc).__name__
        return {'seen': seen, 'root': sorted(os.listdir('/'))}
    """
    out = await run_code_node(code, [{"json": {"paths": paths}}])
    assert all(result == "FileNotFoundError" for result in out["seen"].values()), out["seen"]
    assert out["root"] == ["bin", "dev", "lib", "lib64", "proc", "sbin", "tmp", "usr"]
    assert secret not in json.dumps(out)


async def test_nothing_outside_the_private_tmp_can_be_written_or_truncated(bait_file):
    path, marker = bait_file
    # Were the sandbox to fail open, this must not damage the machine: it runs only in a fresh PID
    # namespace, and it opens the host's own /bin/sh for writing without truncating or writing it.
    code = ONLY_IN_A_SANDBOX + """
        import os
        results = {}
        for target in [items[0]['json']['bait'], '/usr/lib/evil', '/evil', '/dev/shm/evil', '/proc/sys/kernel/evil']:
            try:
                with open(target, 'w') as f:
                    f.write('pwned')
                results[target] = 'written'
            except OSError as exc:
                results[target] = type(exc).__name__
        try:
            os.close(os.open('/bin/sh', os.O_WRONLY))
            results['/bin/sh'] = 'written'
        except OSError as exc:
            results['/bin/sh'] = type(exc).__name__
        try:
            os.truncate(items[0]['json']['bait'], 0)
            results['truncate'] = 'truncated'
        except OSError as exc:
            results['truncate'] = type(exc).__name__
        return results
    """
    out = await run_code_node(code, [{"json": {"bait": path}}])
    assert "written" not in out.values() and out["truncate"] == "FileNotFoundError", out
    assert out["/usr/lib/evil"] == "OSError" or out["/usr/lib/evil"] == "PermissionError"
    assert Path(path).read_text() == marker  # world-writable on the host, and still intact


async def test_filling_tmp_stops_at_its_size(configure):
    configure(CODE_SANDBOX="bwrap", CODE_TMP_MB="4")
    code = """
        written, error = 0, None
        try:
            for n in range(64):
                with open(f'/tmp/fill-{n}', 'wb') as f:
                    for _ in range(4):
                        f.write(b'x' * 262144)
                        f.flush()
                        written += 262144
        except OSError as exc:
            error = exc.strerror
        return {'written': written, 'error': error}
    """
    out = await run_code_node(code)
    assert out["error"] == "No space left on device"
    assert out["written"] <= 4 * 2**20


async def test_a_fork_bomb_is_contained_and_the_server_stays_healthy():
    code = ONLY_IN_A_SANDBOX + """
        import os, threading
        forked, error = 0, None
        try:
            for _ in range(200):
                if os.fork() == 0:
                    while True:
                        pass
                forked += 1
        except OSError as exc:
            error = type(exc).__name__
        try:
            threading.Thread(target=lambda: None).start()
            thread = 'started'
        except RuntimeError as exc:
            thread = str(exc)
        return {'forked': forked, 'error': error, 'thread': thread}
    """
    out = await run_code_node(code)
    assert out == {"forked": 0, "error": "BlockingIOError", "thread": "can't start new thread"}
    assert await run_code_node("return {'still': 'works'}") == {"still": "works"}


async def test_no_subprocess_runs():
    code = """
        import subprocess
        try:
            return {'id': subprocess.run(['id'], capture_output=True, text=True).stdout}
        except OSError as exc:
            return {'error': type(exc).__name__}
    """
    assert await run_code_node(code) == {"error": "BlockingIOError"}


async def test_no_socket_reaches_the_host_or_the_outside():
    server = socket.create_server(("127.0.0.1", 0))
    unix_path = f"/var/tmp/linkflow-test-{os.getpid()}.sock"
    unix_server = socket.socket(socket.AF_UNIX)
    unix_server.bind(unix_path)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0linkflow-test-{os.getpid()}")
    accepted = []
    for listener in (server, unix_server, abstract):
        listener.listen()
        listener.settimeout(0.2)
        threading.Thread(target=_accept_into, args=(listener, accepted), daemon=True).start()
    code = """
        import socket
        results = {}
        attempts = {
            'loopback': (socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.1', items[0]['json']['port'])),
            'outside': (socket.AF_INET, socket.SOCK_STREAM, ('192.0.2.1', 80)),
            'outside_v6': (socket.AF_INET6, socket.SOCK_STREAM, ('2001:db8::1', 80)),
            'unix': (socket.AF_UNIX, socket.SOCK_STREAM, items[0]['json']['unix']),
            'abstract': (socket.AF_UNIX, socket.SOCK_STREAM, items[0]['json']['abstract']),
        }
        for name, (family, kind, address) in attempts.items():
            try:
                s = socket.socket(family, kind)
                s.settimeout(2)
                s.connect(address)
                results[name] = 'connected'
            except OSError as exc:
                results[name] = type(exc).__name__
        for name, family, kind in [('netlink', socket.AF_NETLINK, socket.SOCK_RAW),
                                   ('packet', socket.AF_PACKET, socket.SOCK_RAW),
                                   ('raw_ip', socket.AF_INET, socket.SOCK_RAW)]:
            try:
                socket.socket(family, kind, socket.IPPROTO_ICMP if name == 'raw_ip' else 0)
                results[name] = 'opened'
            except OSError as exc:
                results[name] = exc.strerror
        try:
            socket.getaddrinfo('example.com', 80)
            results['dns'] = 'resolved'
        except OSError as exc:
            results['dns'] = type(exc).__name__
        return results
    """
    try:
        out = await run_code_node(code, [{"json": {"port": server.getsockname()[1], "unix": unix_path,
                                                    "abstract": f"\0linkflow-test-{os.getpid()}"}}])
    finally:
        for listener in (server, unix_server, abstract):
            listener.close()
        os.unlink(unix_path)
    assert out["loopback"] == "ConnectionRefusedError"  # the sandbox's own empty loopback
    assert out["outside"] == out["outside_v6"] == "OSError"  # network unreachable
    assert out["unix"] == out["abstract"] == "FileNotFoundError" or out["abstract"] == "ConnectionRefusedError"
    assert out["netlink"] == out["packet"] == "Address family not supported by protocol"  # the seccomp filter
    assert out["raw_ip"] == "Operation not permitted"
    assert out["dns"] == "gaierror"
    assert accepted == []  # nothing on the host was reached


def _accept_into(listener: socket.socket, accepted: list) -> None:
    while True:
        try:
            accepted.append(listener.accept())
        except TimeoutError:
            continue
        except OSError:
            return


async def test_ctypes_cannot_ptrace_mount_or_unshare():
    code = ONLY_IN_A_SANDBOX + """
        import ctypes, errno
        libc = ctypes.CDLL(None, use_errno=True)
        def attempt(call, *args):
            ctypes.set_errno(0)
            result = call(*args)
            return result if result != -1 else errno.errorcode[ctypes.get_errno()]
        PTRACE_ATTACH, PTRACE_TRACEME, CLONE_NEWUSER, CLONE_NEWNS = 16, 0, 0x10000000, 0x20000
        return {
            'ptrace_init': attempt(libc.ptrace, PTRACE_ATTACH, 1, None, None),
            'ptrace_me': attempt(libc.ptrace, PTRACE_TRACEME, 0, None, None),
            'process_vm_readv': attempt(libc.syscall, 310, 1, None, 1, None, 1, 0),
            'mount': attempt(libc.mount, b'none', b'/tmp', b'tmpfs', 0, None),
            'unshare_user': attempt(libc.unshare, CLONE_NEWUSER),
            'unshare_mount': attempt(libc.unshare, CLONE_NEWNS),
            'bpf': attempt(libc.syscall, 321, 0, None, 0),
            'io_uring_setup': attempt(libc.syscall, 425, 1, None),
            'keyctl': attempt(libc.syscall, 250, 0, 0),
        }
    """
    out = await run_code_node(code)
    assert out == dict.fromkeys(out, "EPERM") and len(out) == 9


async def test_cannot_become_root_or_gain_capabilities():
    code = """
        import os
        results = {'uid': os.getuid(), 'euid': os.geteuid()}
        for name, call in [('setuid', lambda: os.setuid(0)), ('setgid', lambda: os.setgid(0)),
                           ('setgroups', lambda: os.setgroups([0]))]:
            try:
                call()
                results[name] = 'done'
            except OSError as exc:
                results[name] = type(exc).__name__
        results['uid_after'] = os.getuid()
        status = open('/proc/self/status').read()
        results['caps'] = [line.split()[1] for line in status.splitlines()
                           if line.startswith(('CapEff', 'CapPrm', 'CapBnd', 'CapAmb'))]
        results['no_new_privs'] = [line.split()[1] for line in status.splitlines() if line.startswith('NoNewPrivs')]
        return results
    """
    out = await run_code_node(code)
    assert out["setuid"] == out["setgid"] == "OSError"  # EINVAL: uid 0 does not even exist in there
    assert out["setgroups"] == "PermissionError"
    assert out["uid_after"] == out["uid"]
    assert out["caps"] == ["0000000000000000"] * 4
    assert out["no_new_privs"] == ["1"]
    assert out["uid"] == out["euid"] == (65534 if os.geteuid() == 0 else os.geteuid())


async def test_signals_cannot_reach_the_server_or_other_processes(sentinel):
    code = ONLY_IN_A_SANDBOX + """
        import os, signal
        results = {}
        for name, pid in [('sentinel', items[0]['json']['sentinel']), ('server', items[0]['json']['server']),
                          ('parent', os.getppid()), ('init', 1)]:
            try:
                os.kill(pid, signal.SIGKILL)
                results[name] = 'sent'
            except OSError as exc:
                results[name] = type(exc).__name__
        try:
            os.kill(-1, signal.SIGKILL)  # every process we may signal, except ourselves
            results['everyone'] = 'sent'
        except OSError as exc:
            results['everyone'] = type(exc).__name__
        return results
    """
    out = await run_code_node(code, [{"json": {"sentinel": sentinel.pid, "server": os.getpid()}}])
    assert sentinel.poll() is None  # the host process with the sandbox's own uid is alive
    assert out["init"] == "sent" and out["parent"] == "sent"  # the sandbox's own init ignores it
    assert out["sentinel"] == "ProcessLookupError" or out["sentinel"] == "sent"  # that pid number is not ours
    assert await run_code_node("return {'still': 'works'}") == {"still": "works"}


async def test_huge_output_is_bounded():
    failure = await code_node_failure("for _ in range(2000):\n    print('x' * 50000)\nraise ValueError('end')")
    assert failure.message == "ValueError: end (line 3)"
    assert 15 * 1024 < len(failure.details["logs"]) <= 16 * 1024  # 100 MB printed, 16 KB kept
    big = await run_code_node("return [{'blob': 'x' * (70 * 2**20)}]", memory_mb=1024)
    assert big["error"] == "the code returned more than 64 MB of items; return less"


async def test_a_memory_bomb_is_stopped():
    out = await run_code_node("blob = bytearray(4 * 2**30)\nreturn {}", memory_mb=128)
    assert out["error"].startswith("code exceeded its memory limit of 128 MB")


async def test_a_time_bomb_is_stopped():
    out = await run_code_node("import time\ntime.sleep(60)", time_limit_s=1)
    assert out["error"] == "code exceeded its time limit of 1s"
