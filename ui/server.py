"""`linkflow up` and `linkflow serve --role ui`: the UI and the API served by this one process.

`reflex run --env prod` used to rebuild the UI bundle on every start (~16 s) and kept three
processes (the `linkflow` launcher, Reflex's supervisor, its server worker: ~420 MB), whose server
outlived a killed launcher and kept the port. Now:

* the bundle is built once (``ensure_built``) and again only when what goes into it changed
  (``fingerprint``: the UI sources, rxconfig, the lock files, Reflex's version and the backend
  URL baked into the bundle); the build is a child process that dies with this one;
* this process binds the port itself first, so a port in use is reported (naming a LinkFlow that
  still answers there) instead of a second server starting, and it serves the app with uvicorn,
  no other process; "running" is printed once its own ``/health`` answers with its own instance;
* API, webhook and health requests go straight to the HTTP app, past Reflex's routing and
  middleware (``fast_path``); everything else (pages, the event websocket) goes to Reflex;
* a stop is bounded: SIGTERM or Ctrl-C ends it within ``backend.processes.STOP_LIMIT_S``.
"""

from __future__ import annotations

import argparse
import errno
import hashlib
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

import httpx

from backend.health import INSTANCE, INSTANCE_HEADER
from backend.memory import keep_trimmed
from backend.processes import bounded_server, start_child
from backend.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent  # holds rxconfig.py
WEB = ROOT / os.environ.get("REFLEX_WEB_WORKDIR", ".web")  # where Reflex builds (REFLEX_WEB_WORKDIR moves it)
STAMP = WEB / "linkflow-build.json"
BUNDLE_INDEX = WEB / "build" / "client" / "index.html"
FAST_PREFIXES = ("/webhook/", "/webhook-test/", "/webhook-waiting/", "/api/v1/")
FAST_PATHS = frozenset({"/health", "/ready", "/metrics", "/api/v1"})
BUNDLE_INPUTS = ("ui", "assets", "reflex.lock")
BUNDLE_SUFFIXES = (".py", ".jsx", ".js", ".ts", ".tsx", ".css", ".json", ".lock", ".svg", ".png", ".ico")


class PortTaken(RuntimeError):
    pass


def up_main(args: argparse.Namespace) -> int:
    return run(args, roles="embedded")


def ui_main(args: argparse.Namespace) -> int:
    return run(args, roles="ui")


def run(args: argparse.Namespace, roles: str) -> int:
    settings = get_settings()
    host, port = args.host or settings.http.host, args.port or settings.http.port
    try:
        sock = bind(host, port)
    except PortTaken as exc:
        print(f"linkflow: {exc}", file=sys.stderr)
        return 2
    from backend.cli_commands import _prepare_database

    _prepare_database()
    api_url = os.environ.get("REFLEX_API_URL") or f"http://{host}:{port}"
    env = reflex_env(api_url, roles)
    os.environ.update(env)
    if not ensure_built(env):
        return 1
    return serve(sock, f"http://{host}:{port}", settings)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound now; PortTaken says who holds the port when it is in use."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise PortTaken(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        raise PortTaken(f"port {port} on {host} is already in use by {holder(host, port)}; stop it, or start "
                        "with --port (or LINKFLOW_HTTP_PORT) set to a free port") from None
    sock.set_inheritable(False)
    return sock


def holder(host: str, port: int) -> str:
    try:
        answer = httpx.get(f"http://{host}:{port}/health", timeout=2)
    except httpx.HTTPError:
        return "another program"
    if answer.headers.get(INSTANCE_HEADER):
        return "another LinkFlow server (an earlier start still running?)"
    return "another program (it answers HTTP)"


def reflex_env(api_url: str, roles: str) -> dict[str, str]:
    """What Reflex needs in this process and in the build: its caches in the project, bun from .tools."""
    env = {
        "PATH": f"{ROOT / '.tools' / 'bin'}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
                f"{os.environ.get('PATH', '')}",
        "REFLEX_API_URL": api_url,
        "LINKFLOW_ROLES": roles,
        "REFLEX_ENV_MODE": "prod",
    }
    for name, value in (("REFLEX_USE_SYSTEM_BUN", "1"), ("REFLEX_DIR", str(ROOT / ".reflex-home")),
                        ("REFLEX_TELEMETRY_ENABLED", "false"), ("REFLEX_CHECK_LATEST_VERSION", "false"),
                        ("BUN_INSTALL_CACHE_DIR", str(ROOT / ".tools" / "bun-cache")),
                        ("BUN_RUNTIME_TRANSPILER_CACHE_PATH", str(ROOT / ".tools" / "bun-transpiler"))):
        env[name] = os.environ.get(name, value)
    return env


def fingerprint(api_url: str) -> str:
    """What the bundle is made from: a change to any of it means a new build."""
    from importlib.metadata import version

    digest = hashlib.sha256(f"reflex {version('reflex')}\napi {api_url}\n".encode())
    files = [ROOT / "rxconfig.py"]
    for name in BUNDLE_INPUTS:
        folder = ROOT / name
        if folder.is_dir():
            files += sorted(path for path in folder.rglob("*") if path.suffix in BUNDLE_SUFFIXES
                            and "__pycache__" not in path.parts)
    for path in files:
        digest.update(f"{path.relative_to(ROOT)}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_built(env: dict[str, str]) -> bool:
    """Build the UI bundle unless the one in .web was built from the same inputs; False if the build failed."""
    wanted = fingerprint(env["REFLEX_API_URL"])
    if BUNDLE_INDEX.is_file() and STAMP.is_file() and json.loads(STAMP.read_text()).get("fingerprint") == wanted:
        return True
    print("  building the UI bundle (once; again only when the UI changes) ...", flush=True)
    started = time.monotonic()
    build_env = {**os.environ, **env}
    if "NPM_CONFIG_REGISTRY" not in build_env:
        import shutil
        import subprocess

        if shutil.which("npm"):  # saves Reflex a registry speed probe
            build_env["NPM_CONFIG_REGISTRY"] = subprocess.run(
                ["npm", "config", "get", "registry"], capture_output=True, text=True).stdout.strip()
    STAMP.unlink(missing_ok=True)
    child = start_child([sys.executable, "-m", "reflex", "export", "--frontend-only", "--no-zip", "--env", "prod",
                         "--loglevel", "warning"], cwd=ROOT, env=build_env)
    if child.wait() != 0 or not BUNDLE_INDEX.is_file():
        print(f"linkflow: building the UI failed (exit status {child.returncode}); see the messages above",
              file=sys.stderr)
        return False
    STAMP.write_text(json.dumps({"fingerprint": wanted, "built_at": time.time()}))
    print(f"  UI bundle built in {time.monotonic() - started:.0f} s", flush=True)
    return True


def fast_path(reflex_app, http_app):
    """API, webhook and health requests go to the HTTP app directly; pages and the websocket to Reflex."""
    async def app(scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            if path in FAST_PATHS or path.startswith(FAST_PREFIXES):
                return await http_app(scope, receive, send)
        return await reflex_app(scope, receive, send)

    return app


def make_app():
    """The ASGI app of ui/ui.py, compiled in memory (the bundle on disk is served as it is)."""
    os.environ["__REFLEX_SKIP_COMPILE"] = "true"  # Reflex's own switches (internal: two underscores)
    os.environ["__REFLEX_MOUNT_FRONTEND_COMPILED_APP"] = "true"
    from reflex.utils import prerequisites

    app = prerequisites.get_app().app
    return fast_path(app(), app.api_transformer)


def serve(sock: socket.socket, url: str, settings) -> int:
    from backend.observability import freeze_startup_heap

    server = bounded_server(make_app(), lifespan="on")
    threading.Thread(target=_announce, args=(url, server, settings), name="linkflow-announce", daemon=True).start()
    freeze_startup_heap()
    keep_trimmed()
    server.run(sockets=[sock])
    return 0 if server.started else 1


def _announce(url: str, server, settings) -> None:
    """Print that LinkFlow runs once this very process answers /health (not any server on the port)."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not server.should_exit:
        if server.started:
            try:
                answer = httpx.get(f"{url}/health", timeout=2)
                if answer.status_code == 200 and answer.headers.get(INSTANCE_HEADER) == INSTANCE:
                    print(f"\n  LinkFlow is running at {url}  ({settings.mode} mode, data in {settings.data_dir}/)\n",
                          flush=True)
                    return
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
