"""The seccomp filter bubblewrap installs before it starts the code (``bwrap --seccomp FD``).

A classic BPF program over ``struct seccomp_data`` (nr at offset 0, arch at 4, args from
16), written out here so no native library is needed. It allows everything except:

* another architecture's system calls (i386 via ``int 0x80``, x32): the process is killed,
  since their numbers differ and would slip past the deny list;
* the calls that reach past the namespaces or into the kernel's attack surface — ptrace
  and process_vm_* (reading the sandbox's own init), new namespaces, mounts, bpf, keyrings,
  io_uring, perf, module loading, kexec, userfaultfd, the clock — fail with EPERM;
* sockets other than AF_UNIX, AF_INET and AF_INET6 (netlink, packet, …) fail with
  EAFNOSUPPORT.

The deny list holds calls a Python program never needs; it is not an allow list, so the
namespaces, the dropped capabilities and the unprivileged uid stay the main walls.
"""

from __future__ import annotations

import errno
import functools
import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
RET_KILL_PROCESS = 0x80000000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
# instruction classes: load word absolute, jump if equal / greater-or-equal (constant), return constant
LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
OFFSET_NR, OFFSET_ARCH, OFFSET_ARG0 = 0, 4, 16

SOCKET_NR = 41
ALLOWED_SOCKET_FAMILIES = (1, 2, 10)  # AF_UNIX, AF_INET, AF_INET6
DENIED_SYSCALLS = {  # x86_64 numbers (asm/unistd_64.h)
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312, "pidfd_getfd": 438,
    "unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "bpf": 321, "keyctl": 250, "add_key": 248, "request_key": 249,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "perf_event_open": 298,
    "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "create_module": 174, "get_kernel_syms": 177, "query_module": 178,
    "nfsservctl": 180, "_sysctl": 156, "uselib": 134, "acct": 163, "swapon": 167, "swapoff": 168,
    "reboot": 169, "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173, "quotactl": 179,
    "quotactl_fd": 443, "lookup_dcookie": 212, "open_by_handle_at": 304, "name_to_handle_at": 303,
    "fanotify_init": 300, "settimeofday": 164, "adjtimex": 159, "clock_settime": 227, "clock_adjtime": 305,
    "syslog": 103, "vhangup": 153,
}


class UnsupportedArchitecture(RuntimeError):
    pass


def _assemble(lines: list[tuple]) -> bytes:
    """``lines``: labels (str) and instructions ``(code, k)`` or ``(code, k, jump_if_true_label)``.
    BPF jumps only forward, relative to the next instruction: the labels are resolved here."""
    positions, index = {}, 0
    for line in lines:
        if isinstance(line, str):
            positions[line] = index
        else:
            index += 1
    out, index = [], 0
    for line in lines:
        if isinstance(line, str):
            continue
        code, k, *target = line
        jt = positions[target[0]] - index - 1 if target else 0
        if not 0 <= jt < 256:
            raise ValueError(f"BPF jump out of range at instruction {index}")
        out.append(struct.pack("<HBBI", code, jt, 0, k))  # struct sock_filter {code, jt, jf, k}
        index += 1
    return b"".join(out)


@functools.cache
def program() -> bytes:
    """The filter as bytes for ``--seccomp FD`` (built once per process)."""
    if platform.machine() != "x86_64":
        raise UnsupportedArchitecture(
            f"the code sandbox's seccomp filter is written for x86_64, and this machine is {platform.machine()}; "
            "run Code nodes on an x86_64 code-runner (LINKFLOW_CODE_SANDBOX=remote)")
    return _assemble([
        (LD_W_ABS, OFFSET_ARCH),
        (JEQ_K, AUDIT_ARCH_X86_64, "native"),
        (RET_K, RET_KILL_PROCESS),
        "native",
        (LD_W_ABS, OFFSET_NR),
        (JGE_K, X32_SYSCALL_BIT, "eperm"),
        (JEQ_K, SOCKET_NR, "socket"),
        *[(JEQ_K, nr, "eperm") for nr in sorted(DENIED_SYSCALLS.values())],
        (RET_K, RET_ALLOW),
        "socket",
        (LD_W_ABS, OFFSET_ARG0),  # the low 32 bits of the domain argument (little-endian)
        *[(JEQ_K, family, "allow") for family in ALLOWED_SOCKET_FAMILIES],
        (RET_K, RET_ERRNO | errno.EAFNOSUPPORT),
        "allow",
        (RET_K, RET_ALLOW),
        "eperm",
        (RET_K, RET_ERRNO | errno.EPERM),
    ])
