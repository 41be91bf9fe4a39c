"""`shared_asset` gives what `rx.asset(path, shared=True)` gives (URL, build-time import path, the link it
makes), without Reflex's `inspect.stack()`: if a Reflex upgrade changes either, this fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import reflex as rx

from ui.components.assets import shared_asset

HERE = os.path.basename(__file__)  # any file next to this module will do: this one


def test_shared_asset_matches_reflex(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ours = shared_asset(HERE)
    linked = tmp_path / "assets" / "external" / __name__.replace(".", "/") / HERE
    assert linked.is_symlink() and linked.resolve() == Path(__file__).resolve()
    linked.unlink()
    theirs = rx.asset(HERE, shared=True)
    assert linked.is_symlink()
    assert str(ours) == str(theirs) and "?v=" in str(ours)
    assert ours.importable_path == theirs.importable_path == f"$/public/external/{__name__.replace('.', '/')}/{HERE}"


def test_a_missing_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="no_such_file.js"):
        shared_asset("no_such_file.js")
