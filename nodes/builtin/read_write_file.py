"""The Read/Write Files from Disk node: files inside the one folder an administrator allows."""

from __future__ import annotations

import asyncio
import errno
import mimetypes
import os
import stat
from typing import Literal

from pydantic import Field

from nodes.builtin._files import MAX_FILE_BYTES, read_binary
from nodes.sdk import Item, Node, NodeParameters, NodeUserError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_NOT_FOLLOWED = (errno.ELOOP, errno.ENOTDIR, errno.EMLINK)


class ReadWriteFileParameters(NodeParameters):
    operation: Literal["read", "write"] = Field("read", description="Read a file into the item, or write one")
    path: str = Field(min_length=1, max_length=4096,
                      description="The file, relative to the folder the administrator set, e.g. 'reports/may.csv'")
    binary_property: str = Field("data", min_length=1,
                                 description="read: the name the file gets in the item's binary; write: the "
                                             "item's binary data to write")
    overwrite: bool = Field(True, description="write: replace a file that exists; off: fail instead")


class ReadWriteFile(Node):
    """Reaches only inside the folder of ``LINKFLOW_STORAGE_DISK_ROOT`` (the node is refused while it
    is unset). A path with ``..``, an absolute path outside that folder, a symbolic link anywhere on
    the way (to a folder or a file, inside or out), a hard-linked file and anything but a regular file
    are refused: each folder is opened without following links, relative to the one before it, so a
    link swapped in meanwhile is not followed either. Files up to 100 MB; folders are created on write.
    """

    type = "read_write_file"
    display_name = "Read/Write Files from Disk"
    group = "integration"
    side_effects = True
    icon = "hard-drive"
    description = "Reads a file from, or writes an item's file to, the server folder an administrator allows."
    Parameters = ReadWriteFileParameters

    async def execute(self, ctx, items):
        root = ctx.settings.get("disk_root") or ""
        if not root:
            raise NodeUserError("reading and writing files on the server is turned off; an administrator can "
                                "allow one folder with LINKFLOW_STORAGE_DISK_ROOT")
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            parts = _parts(root, params.path, index)
            if params.operation == "read":
                out.append(await _read(ctx, root, parts, item, params, index))
            else:
                out.append(await _write(ctx, root, parts, item, params, index))
        return out


async def _read(ctx, root: str, parts: list[str], item: Item, params: ReadWriteFileParameters, index: int) -> Item:
    data = await asyncio.to_thread(_read_file, root, parts, index)
    name = parts[-1]
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    ref = await ctx.put_binary(data, mime_type=mime, file_name=name)
    return {"json": {"path": "/".join(parts), "file_name": name, "size": len(data)},
            "binary": {**(item.get("binary") or {}), params.binary_property: ref}}


async def _write(ctx, root: str, parts: list[str], item: Item, params: ReadWriteFileParameters, index: int) -> Item:
    data, _ = await read_binary(ctx, item, params.binary_property, index)
    await asyncio.to_thread(_write_file, root, parts, data, params.overwrite, index)
    return {"json": {"path": "/".join(parts), "file_name": parts[-1], "size": len(data)},
            "binary": dict(item.get("binary") or {})}


def _parts(root: str, path: str, index: int) -> list[str]:
    """The path's folder and file names below the root; refused if it could lead anywhere else."""
    text = path.replace("\\", "/")
    if "\x00" in text:
        raise NodeUserError("the path contains a NUL character", item_index=index)
    if text.startswith("/"):  # absolute: allowed only as a path inside the root (as set, or resolved)
        inside = [r for r in (root.rstrip("/"), os.path.realpath(root)) if text.startswith(r + "/")]
        if not inside:
            raise _outside(path, index)
        text = text[len(inside[0]) + 1:]
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise NodeUserError(f"path {path!r} contains '..'; give a path inside the allowed folder",
                            item_index=index)
    if not parts:
        raise NodeUserError(f"path {path!r} names the allowed folder itself, not a file in it", item_index=index)
    return parts


def _outside(path: str, index: int) -> NodeUserError:
    return NodeUserError(f"path {path!r} is outside the folder files may be read from and written to",
                         item_index=index)


def _folder(root: str, folders: list[str], path: str, index: int, *, create: bool) -> int:
    """A descriptor of the last folder, each opened relative to the one before without following links."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)  # the root itself may be a link the administrator made
    try:
        for name in folders:
            try:
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise NodeUserError(f"no file {path!r} in the allowed folder", item_index=index) from None
                os.mkdir(name, 0o750, dir_fd=fd)
                child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in _NOT_FOLLOWED:
                    raise _link(path, name, index) from None
                raise
            os.close(fd)
            fd = child
        return fd
    except BaseException:
        os.close(fd)
        raise


def _link(path: str, name: str, index: int) -> NodeUserError:
    return NodeUserError(f"path {path!r}: {name!r} is a symbolic link or not a folder; links are not followed",
                         item_index=index)


def _read_file(root: str, parts: list[str], index: int) -> bytes:
    path = "/".join(parts)
    folder = _folder(root, parts[:-1], path, index, create=False)
    try:
        fd = _open(parts[-1], os.O_RDONLY | os.O_NONBLOCK, folder, path, index)  # a FIFO must not block us
    finally:
        os.close(folder)
    _check_regular(fd, path, index)
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise NodeUserError(f"file {path!r} is larger than {MAX_FILE_BYTES:,} bytes", item_index=index)
    return data


def _write_file(root: str, parts: list[str], data: bytes, overwrite: bool, index: int) -> None:
    path = "/".join(parts)
    folder = _folder(root, parts[:-1], path, index, create=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | (0 if overwrite else os.O_EXCL)
    try:
        fd = _open(parts[-1], flags, folder, path, index)
    finally:
        os.close(folder)
    _check_regular(fd, path, index)  # before anything is cut: a hard link is left as it was
    with os.fdopen(fd, "wb") as handle:
        handle.truncate(0)
        handle.write(data)


def _open(name: str, flags: int, folder: int, path: str, index: int) -> int:
    try:
        return os.open(name, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o640, dir_fd=folder)
    except FileNotFoundError:
        raise NodeUserError(f"no file {path!r} in the allowed folder", item_index=index) from None
    except FileExistsError:
        raise NodeUserError(f"file {path!r} exists and overwrite is off", item_index=index) from None
    except IsADirectoryError:
        raise NodeUserError(f"{path!r} is a folder, not a file", item_index=index) from None
    except OSError as exc:
        if exc.errno in _NOT_FOLLOWED:
            raise _link(path, name, index) from None
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads, a socket
            raise NodeUserError(f"{path!r} is not a regular file", item_index=index) from None
        raise NodeUserError(f"file {path!r} cannot be opened: {exc.strerror}", item_index=index) from None


def _check_regular(fd: int, path: str, index: int) -> None:
    """Closes ``fd`` and raises unless it is a regular file with no other name."""
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = f"{path!r} is not a regular file"
    elif info.st_nlink > 1:  # another name of this file may be outside the allowed folder
        problem = f"file {path!r} has other hard links; such files are not read or written"
    if problem:
        os.close(fd)
        raise NodeUserError(problem, item_index=index)
