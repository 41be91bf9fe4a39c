"""Read/Write Files from Disk: only inside the allowed folder, whatever the path or the links say."""

import os

import pytest

from nodes.builtin.read_write_file import ReadWriteFile
from nodes.sdk import NodeUserError
from nodes.sdk.testing import FakeContext, run_context


@pytest.fixture
def root(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (tmp_path / "secret.txt").write_text("top secret")
    (tmp_path / "outside").mkdir()
    return allowed


async def read(root, path: str, **params):
    ctx = FakeContext(ReadWriteFile, {"operation": "read", "path": path, **params}, settings={"disk_root": str(root)})
    out = await run_context(ReadWriteFile, ctx, [{"json": {}}])
    [item] = out["main"]
    return item, ctx.binaries[item["binary"][params.get("binary_property", "data")]["id"]]


async def write(root, path: str, data: bytes = b"written", **params):
    ctx = FakeContext(ReadWriteFile, {"operation": "write", "path": path, **params}, settings={"disk_root": str(root)})
    ref = await ctx.put_binary(data, mime_type="text/plain", file_name="x.txt")
    out = await run_context(ReadWriteFile, ctx, [{"json": {}, "binary": {"data": ref}}])
    return out["main"][0]


async def test_write_then_read_a_file_in_a_new_folder(root):
    item = await write(root, "reports/2026/may.csv", b"a,b\n1,2\n")
    assert item["json"] == {"path": "reports/2026/may.csv", "file_name": "may.csv", "size": 8}
    assert (root / "reports" / "2026" / "may.csv").read_bytes() == b"a,b\n1,2\n"
    item, data = await read(root, "reports/2026/may.csv")
    assert data == b"a,b\n1,2\n" and item["binary"]["data"]["mime_type"] == "text/csv"


async def test_an_absolute_path_inside_the_folder_is_fine(root):
    (root / "a.txt").write_text("A")
    assert (await read(root, str(root / "a.txt")))[1] == b"A"


async def test_overwrite_off_refuses_an_existing_file(root):
    await write(root, "once.txt")
    with pytest.raises(NodeUserError, match="exists and overwrite is off"):
        await write(root, "once.txt", overwrite=False)


async def test_without_an_allowed_folder_the_node_is_off(root):
    ctx = FakeContext(ReadWriteFile, {"operation": "read", "path": "a"})
    with pytest.raises(NodeUserError, match="LINKFLOW_STORAGE_DISK_ROOT"):
        await run_context(ReadWriteFile, ctx, [{"json": {}}])


@pytest.mark.parametrize("path", ["../secret.txt", "a/../../secret.txt", "..", "./../secret.txt",
                                  "..\\secret.txt", "/etc/passwd", "{root}/../secret.txt", "{root}x/secret.txt",
                                  "", ".", "nul\x00byte"])
async def test_paths_that_lead_out_are_refused(root, path):
    path = path.replace("{root}", str(root))
    for attempt in (read(root, path), write(root, path)):
        with pytest.raises(NodeUserError):
            await attempt
    assert (root.parent / "secret.txt").read_text() == "top secret"


async def test_a_symlink_to_a_file_outside_is_not_followed(root):
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    with pytest.raises(NodeUserError, match="links are not followed"):
        await read(root, "link.txt")
    with pytest.raises(NodeUserError, match="links are not followed"):
        await write(root, "link.txt")
    assert (root.parent / "secret.txt").read_text() == "top secret"


async def test_a_symlinked_folder_leading_out_is_not_followed(root):
    (root / "escape").symlink_to(root.parent / "outside")
    with pytest.raises(NodeUserError, match="links are not followed"):
        await write(root, "escape/planted.txt")
    assert not (root.parent / "outside" / "planted.txt").exists()
    (root.parent / "outside" / "x.txt").write_text("x")
    with pytest.raises(NodeUserError, match="links are not followed"):
        await read(root, "escape/x.txt")


async def test_a_dangling_symlink_cannot_be_used_to_create_a_file_outside(root):
    (root / "new.txt").symlink_to(root.parent / "created-outside.txt")
    with pytest.raises(NodeUserError, match="links are not followed"):
        await write(root, "new.txt")
    assert not (root.parent / "created-outside.txt").exists()


async def test_a_hard_link_to_a_file_outside_is_neither_read_nor_cut(root):
    os.link(root.parent / "secret.txt", root / "hard.txt")
    with pytest.raises(NodeUserError, match="hard links"):
        await read(root, "hard.txt")
    with pytest.raises(NodeUserError, match="hard links"):
        await write(root, "hard.txt", b"overwritten")
    assert (root.parent / "secret.txt").read_text() == "top secret"


async def test_a_fifo_or_a_folder_is_not_a_file(root):
    os.mkfifo(root / "pipe")
    (root / "folder").mkdir()
    for path in ("pipe", "folder"):
        with pytest.raises(NodeUserError):
            await read(root, path)
    with pytest.raises(NodeUserError):
        await write(root, "folder")


async def test_missing_file_and_too_large_file(root, monkeypatch):
    from nodes.builtin import read_write_file

    with pytest.raises(NodeUserError, match="no file 'nope.txt'"):
        await read(root, "nope.txt")
    with pytest.raises(NodeUserError, match="no file 'no/such.txt'"):
        await read(root, "no/such.txt")
    (root / "big.bin").write_bytes(b"x" * 11)
    monkeypatch.setattr(read_write_file, "MAX_FILE_BYTES", 10)
    with pytest.raises(NodeUserError, match="larger than 10 bytes"):
        await read(root, "big.bin")


async def test_the_allowed_folder_may_itself_be_a_link(tmp_path, root):
    (root / "a.txt").write_text("A")
    (tmp_path / "alias").symlink_to(root)
    assert (await read(tmp_path / "alias", "a.txt"))[1] == b"A"
