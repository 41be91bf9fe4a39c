"""`shared_asset`: what `rx.asset(path, shared=True)` returns, without its `inspect.stack()`.

Reflex finds the calling module with `inspect.stack()`, which reads the source lines of every frame on
the stack; called while the UI is imported (some 60 frames of importlib deep), that cost ~0.1 s per
asset and more than half a second of every `linkflow up` start (issue #18: start in ≤ 3 s). This takes
the caller's frame directly and hands the rest to Reflex's own linking and versioning, so the result
is the same string (tests/unit/ui/test_assets.py compares the two).
"""

from __future__ import annotations

import sys
from pathlib import Path

from reflex import assets as _reflex_assets
from reflex_base import constants
from reflex_base.environment import EnvironmentVariables


def shared_asset(path: str) -> _reflex_assets.AssetPathStr:
    """The URL of `path` (a file next to the calling module), linked into the app's external assets."""
    caller = sys._getframe(1)
    source = Path(caller.f_code.co_filename).parent / path
    if not source.exists():
        raise FileNotFoundError(f"File not found: {source}")
    subfolder = caller.f_globals["__name__"].replace(".", "/")
    external = constants.Dirs.EXTERNAL_APP_ASSETS
    if not EnvironmentVariables.REFLEX_BACKEND_ONLY.get():
        folder = Path.cwd() / constants.Dirs.APP_ASSETS / external / subfolder
        folder.mkdir(parents=True, exist_ok=True)
        _reflex_assets._link_shared_asset(folder / path, source)
    return _reflex_assets._versioned_asset_path(f"/{external}/{subfolder}/{path}", source)
