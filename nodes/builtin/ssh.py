"""The SSH node: run a command on a server, or upload and download files over SFTP (n8n's SSH node's shape).

* resource ``command``, operation ``execute``: runs ``command`` (in ``cwd`` when set: ``cd <cwd> && ...``)
  through the user's shell, with no stdin and no terminal. One item per input item: ``{"stdout", "stderr",
  "code", "signal"}`` (n8n's keys; ``code`` is the exit status). A non-zero exit is data, not an error,
  unless ``fail_on_non_zero`` is set. Each of stdout and stderr keeps at most ``max_output_bytes`` (the
  rest is read and dropped, ``stdout_truncated``/``stderr_truncated`` say so). After ``timeout_s`` the
  command's process group gets TERM, then KILL, the session is closed and the node fails.
* resource ``file``, operation ``upload``: the item's binary ``binary_property`` to ``<path>/<file_name>``
  (default name: the binary's own), streamed from storage in chunks: ``{"success", "path", "size"}``.
* resource ``file``, operation ``download``: the remote file ``path`` into the item's binary
  ``binary_property`` (the item's json kept), streamed through a temporary file, up to 1 GiB.

Remote paths are the server's business (its permissions decide); the node reads nothing on the machine
it runs on: the login, key and host key come from the ``ssh`` credential only, and files from the
platform's binary storage. One connection per node run, to the address the address policy checked;
the host key is checked against the credential before logging in (see ``nodes/builtin/_ssh.py``).
"""

from __future__ import annotations

import asyncio
import mimetypes
import posixpath
import shlex
import stat
import tempfile
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from nodes.builtin._files import binary_ref
from nodes.builtin._ssh import connect
from nodes.sdk import Node, NodeParameters, NodeTransientError, NodeUserError
from nodes.sdk.net import AddressPolicy, checked_addresses_async

if TYPE_CHECKING:
    import asyncssh

# asyncssh is imported where it is used, not at module level: loading it costs ~0.1 s at start-up

MAX_OUTPUT_BYTES = 16 * 1024 * 1024
MAX_TRANSFER_BYTES = 1024 ** 3
CHUNK = 256 * 1024
_OPERATIONS = {"command": ("execute",), "file": ("upload", "download")}


class SshParameters(NodeParameters):
    resource: Literal["command", "file"] = Field("command", description="Run a command, or move a file")
    operation: Literal["execute", "upload", "download"] = Field("execute", description=(
        "command: execute; file: upload (the item's binary data to the server) or download (a file into it)"))
    command: str = Field("", max_length=100_000, description="execute: the command line (run by the user's shell)")
    cwd: str = Field("", max_length=4096, description="execute: the working directory (empty: the user's home)")
    path: str = Field("", max_length=4096, description=(
        "upload: the directory to put the file in; download: the file to fetch (relative: to the home)"))
    file_name: str = Field("", max_length=255, description="upload: the remote file name (empty: the binary's own)")
    binary_property: str = Field("data", min_length=1, max_length=200,
                                 description="upload/download: the item's binary field")
    timeout_s: int = Field(300, ge=1, le=86_400, description="execute: fail after this many seconds")
    max_output_bytes: int = Field(1024 * 1024, ge=1, le=MAX_OUTPUT_BYTES,
                                  description="execute: keep at most this much of stdout and of stderr")
    fail_on_non_zero: bool = Field(False, description="execute: fail the item when the exit code is not 0")

    @model_validator(mode="after")
    def _needs(self) -> SshParameters:
        if self.operation not in _OPERATIONS[self.resource]:
            raise ValueError(f"resource {self.resource!r} has no operation {self.operation!r}; use "
                             f"{' or '.join(_OPERATIONS[self.resource])}")
        if self.operation == "execute" and not self.command.strip():
            raise ValueError("execute needs a command")
        if self.operation == "download" and not self.path.strip():
            raise ValueError("download needs the path of the remote file")
        if "/" in self.file_name or self.file_name in (".", ".."):
            raise ValueError("file_name is a name, not a path: put the directory in 'path'")
        return self


class Ssh(Node):
    """Commands and SFTP transfers on the server of the ``ssh`` credential, one connection per run."""

    type = "ssh"
    display_name = "SSH"
    group = "integration"
    icon = "terminal"
    description = ("Run a command on a server over SSH (stdout, stderr, exit code), or upload and download "
                   "files with SFTP. The server's host key is checked against the credential.")
    Parameters = SshParameters
    credential_slots = {"ssh": ("ssh",)}
    side_effects = True

    async def execute(self, ctx, items):
        import asyncssh

        login = await ctx.credentials("ssh")
        addresses = await checked_addresses_async(login["host"], login["port"], AddressPolicy.from_settings(ctx.settings))
        conn = await connect(login, addresses)
        try:
            sftp = None
            out = []
            for index, item in enumerate(items):
                p = ctx.params(index)
                try:
                    if p.operation == "execute":
                        out.append({"json": await _execute(conn, p, index)})
                        continue
                    if sftp is None:
                        sftp = await _sftp(conn)
                    if p.operation == "upload":
                        out.append({"json": await _upload(ctx, sftp, p, item, index)})
                    else:
                        out.append(await _download(ctx, sftp, p, item, index))
                except (asyncssh.DisconnectError, asyncssh.ConnectionLost, BrokenPipeError, ConnectionError) as exc:
                    raise NodeTransientError(f"item {index}: the connection to the SSH server {login['host']}:"
                                             f"{login['port']} was lost: {exc}", item_index=index) from None
            return out
        finally:
            conn.close()


async def _execute(conn: asyncssh.SSHClientConnection, p: SshParameters, index: int) -> dict:
    import asyncssh

    command = f"cd {shlex.quote(p.cwd)} && {p.command}" if p.cwd else p.command
    try:
        process = await conn.create_process(command, encoding=None, stdin=asyncssh.DEVNULL)
    except asyncssh.ChannelOpenError as exc:
        raise NodeTransientError(f"item {index}: the SSH server did not open a session: {exc.reason}",
                                 item_index=index) from None
    try:
        (stdout, out_cut), (stderr, err_cut), _ = await asyncio.wait_for(asyncio.gather(
            _capped(process.stdout, p.max_output_bytes), _capped(process.stderr, p.max_output_bytes),
            process.wait_closed()), p.timeout_s)
    except TimeoutError:
        await _stop(process)
        raise NodeUserError(f"item {index}: the command did not finish within {p.timeout_s} s and was stopped "
                            "(raise timeout_s if it needs longer)", item_index=index) from None
    finally:
        process.close()
    code, signal = process.exit_status, (process.exit_signal or (None,))[0]
    result = {"stdout": _text(stdout), "stderr": _text(stderr), "code": code, "signal": signal}
    result.update({k: True for k, cut in (("stdout_truncated", out_cut), ("stderr_truncated", err_cut)) if cut})
    if p.fail_on_non_zero and code != 0:
        tail = result["stderr"][-500:].strip() or result["stdout"][-500:].strip()
        raise NodeUserError(f"item {index}: the command exited with code {code}" +
                            (f" (signal {signal})" if signal else "") + (f": {tail}" if tail else ""),
                            item_index=index, details={"code": code})
    return result


async def _stop(process: asyncssh.SSHClientProcess) -> None:
    """TERM, then KILL, to the command's process group (OpenSSH's sshd delivers a "signal" request with
    killpg); closing the session alone leaves a command that does not write running on the server."""
    import asyncssh

    for signal in ("TERM", "KILL"):
        try:
            process.send_signal(signal)
            await asyncio.wait_for(process.wait_closed(), 2)
            return
        except (TimeoutError, OSError, asyncssh.Error):
            continue


async def _capped(stream: asyncssh.SSHReader, cap: int) -> tuple[bytes, bool]:
    kept, cut = bytearray(), False
    while chunk := await stream.read(CHUNK):
        room = cap - len(kept)
        kept += chunk[:max(room, 0)]
        cut = cut or len(chunk) > room
    return bytes(kept), cut


def _text(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text[:-1] if text.endswith("\n") else text  # n8n trims the final newline too


async def _sftp(conn: asyncssh.SSHClientConnection) -> asyncssh.SFTPClient:
    import asyncssh

    try:
        return await conn.start_sftp_client()
    except (asyncssh.ChannelOpenError, asyncssh.SFTPError) as exc:
        raise NodeUserError(f"the SSH server offers no SFTP ({exc.reason}); ask its administrator to enable "
                            "the sftp subsystem") from None


def _refused(exc: asyncssh.SFTPError, what: str, path: str, index: int) -> NodeUserError:
    return NodeUserError(f"item {index}: the SSH server refused to {what} {path!r}: {exc.reason}",
                         item_index=index)


async def _upload(ctx, sftp: asyncssh.SFTPClient, p: SshParameters, item: dict, index: int) -> dict:
    import asyncssh

    ref = binary_ref(item, p.binary_property, index, limit=MAX_TRANSFER_BYTES)
    name = p.file_name or posixpath.basename(str(ref.get("file_name") or ""))
    if not name:
        raise NodeUserError(f"item {index}: the binary data {p.binary_property!r} has no file name; set "
                            "file_name", item_index=index)
    remote = posixpath.join(p.path, name) if p.path else name
    chunks = ctx.open_binary(ref)
    size = 0
    try:
        async with sftp.open(remote, "wb") as handle:
            while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
                size += len(chunk)
                await handle.write(chunk)
    except asyncssh.SFTPError as exc:
        raise _refused(exc, "write", remote, index) from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return {"success": True, "path": remote, "size": size}


async def _download(ctx, sftp: asyncssh.SFTPClient, p: SshParameters, item: dict, index: int) -> dict:
    import asyncssh

    try:
        async with sftp.open(p.path, "rb") as handle:
            attrs = await handle.stat()
            if attrs.permissions is not None and stat.S_ISDIR(attrs.permissions):
                raise NodeUserError(f"item {index}: {p.path!r} is a directory on the SSH server; download one "
                                    "file at a time", item_index=index)
            size = attrs.size or 0
            if size > MAX_TRANSFER_BYTES:
                raise NodeUserError(f"item {index}: {p.path!r} is {size:,} bytes; at most {MAX_TRANSFER_BYTES:,} "
                                    "are downloaded", item_index=index)
            with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
                total = 0
                while chunk := await handle.read(CHUNK):
                    total += len(chunk)
                    if total > MAX_TRANSFER_BYTES:
                        raise NodeUserError(f"item {index}: {p.path!r} grew past {MAX_TRANSFER_BYTES:,} bytes while "
                                            "being downloaded", item_index=index)
                    spool.write(chunk)
                spool.seek(0)
                name = posixpath.basename(p.path.rstrip("/"))
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
                ref = await ctx.put_binary(spool, mime_type=mime, file_name=name)
    except asyncssh.SFTPError as exc:
        raise _refused(exc, "read", p.path, index) from None
    return {"json": dict(item.get("json") or {}), "binary": {**(item.get("binary") or {}), p.binary_property: ref}}
