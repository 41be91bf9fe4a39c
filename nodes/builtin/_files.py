"""What the file nodes share: reading an item's binary data, text decoding, zip limits."""

from __future__ import annotations

import codecs
import zipfile

from nodes.sdk import Item, NodeUserError

MAX_FILE_BYTES = 100 * 1024 * 1024  # a file a node reads or makes (bytes, and uncompressed)
MAX_ROWS = 1_000_000  # items one file may become
# csv and ndjson read or written in chunks (Extract from File, Convert to File on large data): memory holds
# a batch, not the file, so the limits are the disk's and the time's.
MAX_STREAMED_BYTES = 10 * 1024 ** 3
MAX_STREAMED_ROWS = 100_000_000
MAX_ZIP_ENTRIES = 10_000
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def binary_ref(item: Item, prop: str, index: int, limit: int | None = None) -> dict:
    ref = (item.get("binary") or {}).get(prop)
    if not isinstance(ref, dict):
        names = sorted(item.get("binary") or {})
        raise NodeUserError(f"item {index} has no binary data {prop!r} (it has: {', '.join(names) or 'none'}); "
                            "set 'Binary property' to the name the file came in under", item_index=index)
    limit = MAX_FILE_BYTES if limit is None else limit
    if isinstance(ref.get("size"), int) and ref["size"] > limit:
        raise too_large(ref.get("file_name") or prop, ref["size"], index, limit)
    return ref


async def read_binary(ctx, item: Item, prop: str, index: int) -> tuple[bytes, dict]:
    ref = binary_ref(item, prop, index)
    data = await ctx.get_binary(ref)
    if len(data) > MAX_FILE_BYTES:
        raise too_large(ref.get("file_name") or prop, len(data), index)
    return data, ref


def too_large(name: str, size: int, index: int | None, limit: int | None = None) -> NodeUserError:
    limit = MAX_FILE_BYTES if limit is None else limit
    return NodeUserError(f"file {name!r} is {size:,} bytes; at most {limit:,} are read by a file node",
                         item_index=index)


def decode(data: bytes, encoding: str, index: int) -> str:
    """Text of ``data``: the given encoding, else a byte-order mark, UTF-8, or the best guess."""
    if encoding:
        try:
            return data.decode(encoding)
        except LookupError:
            raise NodeUserError(f"unknown encoding {encoding!r}; use e.g. utf-8, latin-1, cp1252, utf-16",
                                item_index=index) from None
        except UnicodeDecodeError as exc:
            raise NodeUserError(f"the file is not {encoding} (byte {exc.start}); leave the encoding empty to "
                                "detect it", item_index=index) from None
    for bom, name in BOMS:
        if data.startswith(bom):
            return data.decode(name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _guess(data, index)


def _guess(data: bytes, index: int) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1024 * 1024]).best()
    if best is None:
        raise NodeUserError("the file's text encoding could not be detected (is it text?); set the encoding",
                            item_index=index)
    try:
        return data.decode(best.encoding)
    except UnicodeDecodeError:
        return data.decode(best.encoding, errors="replace")


def check_zip(archive: zipfile.ZipFile, name: str, index: int | None) -> list[zipfile.ZipInfo]:
    """The entries of an archive whose declared sizes stay within the limits (zip bombs refused)."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise NodeUserError(f"{name!r} has {len(entries):,} entries; at most {MAX_ZIP_ENTRIES:,} are read",
                            item_index=index)
    total = sum(entry.file_size for entry in entries)
    if total > MAX_FILE_BYTES:
        raise NodeUserError(f"{name!r} unpacks to {total:,} bytes; at most {MAX_FILE_BYTES:,} are read",
                            item_index=index)
    return entries


def read_entry(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, name: str, index: int | None) -> bytes:
    """One entry, counted as it is inflated: a size in the header that lies does not get past ``budget``."""
    chunks, size = [], 0
    with archive.open(entry) as stream:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > budget:
                raise NodeUserError(f"{name!r} unpacks to more than {MAX_FILE_BYTES:,} bytes; refused",
                                    item_index=index)
            chunks.append(chunk)
    return b"".join(chunks)
