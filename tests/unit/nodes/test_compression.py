import gzip
import io
import zipfile

import pytest

from nodes.builtin import _files
from nodes.builtin.compression import Compression
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context


async def with_files(files: dict[str, tuple[str, bytes]], **params):
    ctx = FakeContext(Compression, params)
    binary = {prop: await ctx.put_binary(data, mime_type="application/octet-stream", file_name=name)
              for prop, (name, data) in files.items()}
    out = await run_context(Compression, ctx, [{"json": {"k": 1}, "binary": binary}])
    [item] = out["main"]
    return item, ctx


def contents(item, ctx) -> dict[str, bytes]:
    return {ref["file_name"]: ctx.binaries[ref["id"]] for ref in item["binary"].values()}


async def test_zip_several_files_and_unzip_them_again():
    item, ctx = await with_files({"a": ("a.txt", b"alpha"), "b": ("b.txt", b"beta")},
                                 binary_properties="a, b", output_property="archive")
    assert set(item["binary"]) == {"archive"} and item["json"] == {"k": 1}
    archive = ctx.binaries[item["binary"]["archive"]["id"]]
    assert zipfile.ZipFile(io.BytesIO(archive)).namelist() == ["a.txt", "b.txt"]
    back, back_ctx = await with_files({"data": ("archive.zip", archive)}, operation="decompress",
                                      output_property="file")
    assert set(back["binary"]) == {"file_0", "file_1"}
    assert contents(back, back_ctx) == {"a.txt": b"alpha", "b.txt": b"beta"}


async def test_gzip_one_file_and_gunzip_it():
    item, ctx = await with_files({"data": ("report.csv", b"x,y\n" * 100)}, format="gzip")
    packed = ctx.binaries[item["binary"]["data"]["id"]]
    assert item["binary"]["data"]["file_name"] == "report.csv.gz" and gzip.decompress(packed) == b"x,y\n" * 100
    back, back_ctx = await with_files({"data": ("report.csv.gz", packed)}, operation="decompress")
    assert contents(back, back_ctx) == {"report.csv": b"x,y\n" * 100}
    with pytest.raises(NodeUserError, match="gzip holds one file"):
        await with_files({"a": ("a", b"1"), "b": ("b", b"2")}, format="gzip", binary_properties="a,b")


async def test_entry_names_cannot_point_anywhere_else():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("../../etc/passwd", "/abs/x.txt", "dir/", "C:\\win\\y.txt", "ok.txt", "sub/ok.txt"):
            archive.writestr(name, b"" if name.endswith("/") else name.encode())
    item, ctx = await with_files({"data": ("evil.zip", buffer.getvalue())}, operation="decompress")
    assert sorted(contents(item, ctx)) == ["ok.txt", "ok_1.txt", "passwd", "x.txt", "y.txt"]


def bomb(size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros", b"\0" * size)
    return buffer.getvalue()


async def test_zip_and_gzip_bombs_are_refused(monkeypatch):
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", 1_000_000)
    from nodes.builtin import compression

    monkeypatch.setattr(compression, "MAX_FILE_BYTES", 1_000_000)
    with pytest.raises(NodeUserError, match="unpacks to"):
        await with_files({"data": ("bomb.zip", bomb(5_000_000))}, operation="decompress")
    with pytest.raises(NodeUserError, match="unpacks to more than"):
        await with_files({"data": ("bomb.gz", gzip.compress(b"\0" * 5_000_000))}, operation="decompress")


async def test_a_zip_that_lies_about_its_size_is_stopped_while_inflating(monkeypatch):
    data = bytearray(bomb(3_000_000))
    # Rewrite the declared uncompressed size (local header and central directory) to 10 bytes.
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        data[at + offset:at + offset + 4] = (10).to_bytes(4, "little")
    monkeypatch.setattr(_files, "MAX_FILE_BYTES", 1_000_000)
    from nodes.builtin import compression

    monkeypatch.setattr(compression, "MAX_FILE_BYTES", 1_000_000)
    with pytest.raises(NodeUserError, match="unpacks to more than|cannot be unpacked"):
        await with_files({"data": ("liar.zip", bytes(data))}, operation="decompress")


async def test_too_many_entries_and_not_an_archive(monkeypatch):
    monkeypatch.setattr(_files, "MAX_ZIP_ENTRIES", 2)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(3):
            archive.writestr(f"{n}.txt", b"x")
    with pytest.raises(NodeUserError, match="3 entries"):
        await with_files({"data": ("many.zip", buffer.getvalue())}, operation="decompress")
    with pytest.raises(NodeUserError, match="neither a zip nor a gzip"):
        await with_files({"data": ("x.bin", b"plain")}, operation="decompress")
