"""Runs the Code node's Python in a child process. Standard library only, run as a script.

Started as ``python -I -S -B code_runner.py <cpu_seconds> <memory_mb> [<file_bytes> [<egress_socket>]]``
(or with ``-c <this file's text>``) by the platform's code sandbox (backend/sandbox/), with
an empty environment and a fresh temporary working directory. It lowers its own resource
limits before reading anything, so every byte of user input and user code runs under them.
``file_bytes`` (default 0: no writes at all) caps each file the code writes; the sandbox
gives it a private size-limited /tmp. With ``egress_socket`` (only when an administrator
allows network) it listens on 127.0.0.1 and relays each connection to that unix socket,
the platform's address-checking proxy, and sets HTTP_PROXY/HTTPS_PROXY for the code.

Protocol: one JSON object on stdin ``{"code", "mode", "items"}``; one JSON object on
the original stdout: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``.
Everything the user code prints goes to stderr, which the parent keeps as logs.
"""

import ast
import builtins
import json
import os
import resource
import sys
import traceback

USER_FILE = "<code>"
OPEN_FILES = 32  # enough for the interpreter and a few files; not for a server
FUNCTION = "__linkflow_code__"


def apply_limits(cpu_seconds: int, memory_mb: int, file_bytes: int = 0) -> None:
    memory = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))  # 0: no file writes (pipes are not files)
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))
    # No new processes or threads. Linux does not apply this to root (CAP_SYS_RESOURCE /
    # CAP_SYS_ADMIN), which the bwrap sandbox never is (uid 65534); in unsafe_process mode the
    # parent kills the whole process group when the run ends, so strays die anyway.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def start_egress_relay(unix_path: str) -> str:
    """Listen on 127.0.0.1 and relay every connection to ``unix_path``; returns the proxy URL.

    One thread serves every connection (started before the limits: RLIMIT_NPROC=0 allows no
    new threads later). Each direction is closed on its own, so half-closed requests work.
    """
    import socket  # here, not at the top: most runs have no network and start faster without them
    import threading

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    threading.Thread(target=_relay_forever, args=(listener, unix_path), daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def _relay_forever(listener, unix_path: str) -> None:
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    open_sides = {}  # socket -> number of directions still open on its pair
    while True:
        for key, _ in selector.select():
            if key.data is None:
                _accept(listener, unix_path, selector, open_sides)
            else:
                _forward(key.fileobj, key.data, selector, open_sides)


def _accept(listener, unix_path, selector, open_sides) -> None:
    import selectors
    import socket

    try:
        client, _ = listener.accept()
    except OSError:  # out of file descriptors (RLIMIT_NOFILE): the client's connect fails, we go on
        return
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(unix_path)
    except OSError:
        client.close()
        upstream.close()
        return
    selector.register(client, selectors.EVENT_READ, upstream)
    selector.register(upstream, selectors.EVENT_READ, client)
    open_sides[client] = open_sides[upstream] = 2


def _forward(source, target, selector, open_sides) -> None:
    import socket

    try:
        data = source.recv(65536)
        if data:
            target.sendall(data)
            return
        target.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    selector.unregister(source)  # this direction is done
    open_sides[source] -= 1
    open_sides[target] -= 1
    if open_sides[source] == 0:  # both directions are done
        for sock in (source, target):
            del open_sides[sock]
            sock.close()


class UserCodeError(Exception):
    def __init__(self, info: dict) -> None:
        super().__init__(info.get("message"))
        self.info = info


def compile_user_code(source: str, argument: str):
    """The code as the body of ``def __linkflow_code__(items)``, so ``return`` works at top level."""
    try:
        body = ast.parse(source, USER_FILE).body
    except SyntaxError as exc:
        raise UserCodeError({"kind": "syntax", "message": f"SyntaxError: {exc.msg}", "line": exc.lineno}) from None
    wrapper = ast.parse(f"def {FUNCTION}({argument}):\n    pass\n")
    wrapper.body[0].body = body or [ast.Pass()]
    namespace = {"__name__": "__linkflow_code__", "__builtins__": builtins}
    try:
        exec(compile(wrapper, USER_FILE, "exec"), namespace)  # noqa: S102 - this process exists to run it
    except SyntaxError as exc:  # e.g. 'yield' mixed with 'return value' is found only when compiling
        raise UserCodeError({"kind": "syntax", "message": f"SyntaxError: {exc.msg}", "line": exc.lineno}) from None
    return namespace[FUNCTION]


def call(function, argument, item_index):
    try:
        return function(argument)
    except MemoryError:
        raise
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from user code too
        raise UserCodeError(_describe(exc, item_index)) from None


def _describe(exc: BaseException, item_index) -> dict:
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == USER_FILE]
    last_line = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return {
        "kind": "exception",
        "message": last_line,
        "type": type(exc).__name__,
        "line": frames[-1].lineno if frames else None,
        "item_index": item_index,
    }


def run(request: dict):
    items = request["items"]
    if request["mode"] == "once_per_item":
        function = compile_user_code(request["code"], "item")
        return [call(function, item, index) for index, item in enumerate(items)]
    function = compile_user_code(request["code"], "items")
    return call(function, items, None)


def _refuse_non_json(value):
    raise TypeError(f"the code returned a {type(value).__name__}, which is not JSON; convert it (str(), .isoformat())")


def reply_for(request: dict) -> str:
    try:
        result = run(request)
        return json.dumps({"ok": True, "result": result}, default=_refuse_non_json)
    except UserCodeError as exc:
        error = exc.info
    except MemoryError:
        error = {"kind": "memory", "message": "MemoryError"}
    except (TypeError, ValueError) as exc:  # from json.dumps: non-JSON values, circular references
        error = {"kind": "result", "message": str(exc)}
    return json.dumps({"ok": False, "error": error})


def main() -> None:
    cpu_seconds, memory_mb = int(sys.argv[1]), int(sys.argv[2])
    file_bytes = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # print() and C-level writes to fd 1 land in the logs, not in the protocol
    sys.stdout = sys.stderr
    if len(sys.argv) > 4:
        proxy = start_egress_relay(sys.argv[4])
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            os.environ[name] = proxy
    apply_limits(cpu_seconds, memory_mb, file_bytes)
    request = json.load(sys.stdin)
    reply = reply_for(request)
    protocol.write(reply)
    protocol.flush()
    os._exit(0)  # skip atexit hooks and finalizers the user code may have registered


if __name__ == "__main__":
    main()
