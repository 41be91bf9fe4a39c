"""The local folder backend: objects in chunks, prefixes, and keys that cannot leave the folder."""

from __future__ import annotations

import io
import os

import pytest

from backend.storage.local import LocalStorage
from backend.storage.ports import InvalidKey, ObjectMissing, check_key, read_all


@pytest.fixture
def storage(tmp_path):
    return LocalStorage(tmp_path / "files")


def test_put_open_info_and_copy(storage):
    assert storage.put("teams/a/x.bin", b"hello") == 5
    assert read_all(storage, "teams/a/x.bin") == b"hello"
    assert storage.info("teams/a/x.bin").size == 5
    storage.copy("teams/a/x.bin", "teams/a/y.bin")
    assert read_all(storage, "teams/a/y.bin") == b"hello"


def test_a_stream_is_written_and_read_in_chunks(storage):
    data = os.urandom(3 * 1024 * 1024 + 7)
    assert storage.put("big/blob", io.BytesIO(data)) == len(data)
    chunks = list(storage.open("big/blob", chunk_bytes=1024 * 1024))
    assert [len(c) for c in chunks] == [1024 * 1024] * 3 + [7] and b"".join(chunks) == data


def test_a_failed_upload_leaves_nothing_behind(storage):
    class Broken(io.RawIOBase):
        def read(self, size=-1):
            raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        storage.put("teams/a/half", Broken())
    assert list(storage.list("teams")) == []
    with pytest.raises(ObjectMissing):
        storage.info("teams/a/half")


def test_missing_objects(storage):
    for call in (lambda: storage.open("no/such"), lambda: storage.info("no/such"),
                 lambda: storage.copy("no/such", "x/y")):
        with pytest.raises(ObjectMissing):
            call()
    assert storage.delete_prefix("no") == 0


def test_delete_prefix_takes_only_that_prefix(storage):
    for key in ("teams/a/e1/x", "teams/a/e1/y", "teams/a/e10/z", "teams/b/e1/x"):
        storage.put(key, b"1")
    assert storage.delete_prefix("teams/a/e1") == 2
    assert sorted(o.key for o in storage.list("")) == ["teams/a/e10/z", "teams/b/e1/x"]


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../../b", "/abs/path", "a//b", "a/./b", ".hidden",
                                 "a/b/", "", "a\\..\\b", "a/b\x00c", "x" * 201, "a/ b"])
def test_keys_that_could_escape_or_confuse_are_refused(storage, key):
    with pytest.raises(InvalidKey):
        check_key(key)
    with pytest.raises(InvalidKey):
        storage.put(key, b"x")
    with pytest.raises(InvalidKey):
        storage.open(key)


def test_list_skips_unfinished_uploads(storage, tmp_path):
    storage.put("t/a", b"1")
    (tmp_path / "files" / "t" / ".part-123").write_bytes(b"half")
    assert [o.key for o in storage.list("t")] == ["t/a"]
