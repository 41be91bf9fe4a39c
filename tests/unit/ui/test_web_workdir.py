"""`linkflow up` looks for its bundle and build stamp where Reflex builds: REFLEX_WEB_WORKDIR when it is set
(a second app beside the first, as the e2e billing app and the process tests run), else .web."""

from __future__ import annotations

import os
import subprocess
import sys

from ui.server import ROOT


def _web_paths(env: dict[str, str]) -> list[str]:
    code = "from ui import server; print(server.WEB); print(server.STAMP); print(server.BUNDLE_INDEX)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_bundle_is_looked_for_in_reflex_web_workdir_when_it_is_set(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "REFLEX_WEB_WORKDIR"}
    assert _web_paths(env) == [str(ROOT / ".web"), str(ROOT / ".web" / "linkflow-build.json"),
                               str(ROOT / ".web" / "build" / "client" / "index.html")]
    moved = tmp_path / "web"
    assert _web_paths({**env, "REFLEX_WEB_WORKDIR": str(moved)}) == [
        str(moved), str(moved / "linkflow-build.json"), str(moved / "build" / "client" / "index.html")]
    assert _web_paths({**env, "REFLEX_WEB_WORKDIR": ".web-other"})[0] == str(ROOT / ".web-other")
