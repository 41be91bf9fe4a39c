"""The Compression node: zip or gzip an item's files, or unpack them."""

from __future__ import annotations

import gzip
import io
import posixpath
import zipfile
import zlib
from typing import Literal

from pydantic import Field

from nodes.builtin._files import MAX_FILE_BYTES, check_zip, read_binary, read_entry
from nodes.sdk import Node, NodeParameters, NodeUserError, show_if

_GZIP_CHUNK = 1024 * 1024


class CompressionParameters(NodeParameters):
    operation: Literal["compress", "decompress"] = Field("compress", description="Pack files, or unpack them")
    format: Literal["zip", "gzip"] = Field("zip", description="compress: zip (any number of files) or gzip (one)",
                                           json_schema_extra=show_if(operation=["compress"]))
    binary_properties: str = Field("data", min_length=1,
                                   description="Comma-separated binary data names to read, e.g. 'data' or 'a,b'")
    output_property: str = Field("data", min_length=1,
                                 description="compress: the archive's name in the item's binary; decompress: "
                                             "the prefix of the unpacked files' names (data_0, data_1, ...)")
    file_name: str = Field("", description="compress: the archive's file name; empty: archive.zip / <name>.gz",
                           json_schema_extra=show_if(operation=["compress"]))


class Compression(Node):
    """compress: the item's files into one zip (or one file into gzip). decompress: each named file is
    unpacked by its contents (zip, or gzip), each unpacked file under ``<output_property>_<n>``.

    Unpacking is bounded: at most 10,000 zip entries and 100 MB uncompressed per item, counted as
    the data is inflated (an archive that lies about its sizes is stopped). Entry names are kept as
    file names only (directories dropped), so no name can point elsewhere.
    """

    type = "compression"
    display_name = "Compression"
    group = "data"
    side_effects = False
    icon = "file-archive"
    description = "Zips or gzips the files of an item, or unpacks zip and gzip files."
    Parameters = CompressionParameters

    async def execute(self, ctx, items):
        out = []
        for index, item in enumerate(items):
            params = ctx.params(index)
            names = [n.strip() for n in params.binary_properties.split(",") if n.strip()]
            files = [await read_binary(ctx, item, name, index) for name in names]
            if params.operation == "compress":
                made = await _compress(ctx, files, params, index)
            else:
                made = await _decompress(ctx, files, params, index)
            kept = {k: v for k, v in (item.get("binary") or {}).items() if k not in names}
            out.append({"json": dict(item.get("json", {})), "binary": {**kept, **made}})
        return out


async def _compress(ctx, files: list[tuple[bytes, dict]], params: CompressionParameters, index: int) -> dict:
    if params.format == "gzip":
        if len(files) != 1:
            raise NodeUserError("gzip holds one file; name one binary property, or use zip", item_index=index)
        data, ref = files[0]
        name = params.file_name or f"{ref.get('file_name') or 'data'}.gz"
        packed = gzip.compress(data, mtime=0)
        return {params.output_property: await ctx.put_binary(packed, mime_type="application/gzip", file_name=name)}
    buffer, used = io.BytesIO(), set()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n, (data, ref) in enumerate(files):
            archive.writestr(_unique(_base_name(ref.get("file_name") or f"file_{n}"), used), data)
    name = params.file_name or "archive.zip"
    return {params.output_property: await ctx.put_binary(buffer.getvalue(), mime_type="application/zip",
                                                         file_name=name)}


async def _decompress(ctx, files: list[tuple[bytes, dict]], params: CompressionParameters, index: int) -> dict:
    made, budget = {}, MAX_FILE_BYTES
    for data, ref in files:
        name = ref.get("file_name") or "data"
        unpacked = _gunzip(data, name, index) if data[:2] == b"\x1f\x8b" else _unzip(data, name, budget, index)
        for file_name, content in unpacked:
            budget -= len(content)
            made[f"{params.output_property}_{len(made)}"] = await ctx.put_binary(
                content, mime_type="application/octet-stream", file_name=file_name)
    return made


def _unzip(data: bytes, name: str, budget: int, index: int) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise NodeUserError(f"{name!r} is neither a zip nor a gzip file", item_index=index) from None
    with archive:
        files, used = [], set()
        for entry in check_zip(archive, name, index):
            if entry.is_dir():
                continue
            try:
                content = read_entry(archive, entry, budget, name, index)
            except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError) as exc:
                raise NodeUserError(f"{name!r}: entry {entry.filename!r} cannot be unpacked ({exc})",
                                    item_index=index) from None
            budget -= len(content)
            files.append((_unique(_base_name(entry.filename), used), content))
        return files


def _gunzip(data: bytes, name: str, index: int) -> list[tuple[str, bytes]]:
    inflater, chunks, size = zlib.decompressobj(wbits=31), [], 0
    pending = data
    try:
        while pending and not inflater.eof:
            chunk = inflater.decompress(pending, _GZIP_CHUNK)  # at most a chunk per call: bombs are stopped
            pending = inflater.unconsumed_tail
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                raise NodeUserError(f"{name!r} unpacks to more than {MAX_FILE_BYTES:,} bytes; refused",
                                    item_index=index)
            chunks.append(chunk)
    except zlib.error as exc:
        raise NodeUserError(f"{name!r} is not a valid gzip file ({exc})", item_index=index) from None
    inner = name[:-3] if name.lower().endswith(".gz") else f"{name}.out"
    return [(_base_name(inner), b"".join(chunks))]


def _base_name(name: str) -> str:
    """The last part of an entry's path: '../../etc/passwd' and 'C:\\x\\y' give 'passwd' and 'y'."""
    base = posixpath.basename(name.replace("\\", "/")).strip()
    return base if base not in ("", ".", "..") else "file"


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem}_{n}.{ext}" if dot and stem else f"{name}_{n}"
        n += 1
    used.add(candidate)
    return candidate

