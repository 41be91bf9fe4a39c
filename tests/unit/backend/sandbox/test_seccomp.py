"""The seccomp filter: well formed, and what it refuses is refused because of it."""

from __future__ import annotations

import json
import struct
import subprocess

from backend.sandbox import seccomp
from backend.sandbox.bwrap import BwrapOptions, BwrapSandbox, _seccomp_fd

# Things the namespaces alone allow: ptrace of the sandbox's own init, keyrings, a netlink socket.
ATTEMPTS = """
import ctypes, errno, json, socket
libc = ctypes.CDLL(None, use_errno=True)
def attempt(call, *args):
    ctypes.set_errno(0)
    return 'allowed' if call(*args) != -1 else errno.errorcode[ctypes.get_errno()]
def netlink():
    try:
        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close()
        return 'allowed'
    except OSError as exc:
        return errno.errorcode[exc.errno]
print(json.dumps({'ptrace_init': attempt(libc.ptrace, 0x4206, 1, None, None),  # PTRACE_SEIZE: no stop
                  'keyctl': attempt(libc.syscall, 250, 0, 0), 'netlink': netlink()}))
"""


def _run_inside(with_filter: bool) -> dict:
    sandbox = BwrapSandbox(BwrapOptions())
    assert sandbox.status().ok
    with _seccomp_fd() as fd:
        argv = sandbox._argv(fd, 5, 256, None)
        at = argv.index("--seccomp")
        if not with_filter:
            del argv[at:at + 2]
        python = argv.index("-c") + 1
        argv[python:] = [ATTEMPTS]
        done = subprocess.run(argv, env={}, capture_output=True, text=True, pass_fds=[fd], timeout=30)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_filter_is_what_refuses_ptrace_keyctl_and_netlink():
    # keyctl reaches the kernel without the filter (EINVAL: a bad request, not a refusal)
    assert _run_inside(with_filter=False) == {"ptrace_init": "allowed", "keyctl": "EINVAL", "netlink": "allowed"}
    assert _run_inside(with_filter=True) == {"ptrace_init": "EPERM", "keyctl": "EPERM", "netlink": "EAFNOSUPPORT"}


def test_the_program_checks_the_architecture_first_and_ends_in_returns():
    program = seccomp.program()
    instructions = [struct.unpack("<HBBI", program[i:i + 8]) for i in range(0, len(program), 8)]
    assert instructions[0] == (seccomp.LD_W_ABS, 0, 0, seccomp.OFFSET_ARCH)
    assert instructions[1] == (seccomp.JEQ_K, 1, 0, seccomp.AUDIT_ARCH_X86_64)
    assert instructions[2] == (seccomp.RET_K, 0, 0, seccomp.RET_KILL_PROCESS)
    assert instructions[-1] == (seccomp.RET_K, 0, 0, seccomp.RET_ERRNO | 1)  # EPERM
    denied = {k for code, _, _, k in instructions if code == seccomp.JEQ_K} - {seccomp.AUDIT_ARCH_X86_64}
    assert set(seccomp.DENIED_SYSCALLS.values()) <= denied
    assert seccomp.program() is program  # built once per process
