"""Start the real app (`linkflow up`, embedded mode) once per session and drive it in Chromium."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from playwright.sync_api import expect

# An answer the page waits for comes from the server through Reflex's websocket. On a 2-core machine that is
# also running the integration services (or another job), one took longer than Playwright's default 5 s once
# (an n8n import's refusal, CI of b3b6ddf): what a person sees is checked all the same, with more patience.
expect.set_options(timeout=10_000)

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]


PARTNER_HOST = "127.0.0.2"  # where tests run fake third-party services the app may call


def service_missing(message: str) -> NoReturn:
    """A service of `infra.sh` the test needs is not configured: a failure in CI (`make test` starts it), a skip
    elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass  # either side closed: the relay of this connection is over
    finally:
        for end in (source, target):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def partner_relay(host: str, port: int) -> Iterator[int]:
    """A TCP relay on the partner host to a loopback service (the app refuses loopback addresses); its port."""
    listener = socket.create_server((PARTNER_HOST, 0))
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection((host, port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Debian's Chromium; Playwright's own browser download cannot work on these machines.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    }


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory) -> Path:
    """LINKFLOW_DATA_DIR of the app under test (its SQLite database), e.g. for `linkflow user create`."""
    return tmp_path_factory.mktemp("e2e-data")


@pytest.fixture(scope="session")
def app_server(app_data_dir):
    port = _free_port()
    data = app_data_dir
    env = {**os.environ, "LINKFLOW_DATA_DIR": str(data), "LINKFLOW_HTTP_PORT": str(port),
           "REFLEX_API_URL": f"http://127.0.0.1:{port}",
           # the tests' stand-ins for partner services listen here; the rest of loopback stays refused
           "LINKFLOW_HTTP_ALLOW_LIST": PARTNER_HOST}
    log = open(data / "server.log", "w")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "up"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _servers.append((proc, data / "server.log"))
    try:
        _wait_until_serving(url, proc, data / "server.log")
        yield url
    finally:
        _servers.remove((proc, data / "server.log"))
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


_servers: list[tuple[subprocess.Popen, Path]] = []  # the app under test, and its log
SERVER_LOG_TAIL_CHARS = 30_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the server's last log lines and every thread's stack there (SIGUSR1,
    backend/cli.py): a server that stopped answering shows where it stood."""
    report = yield
    if report.failed and _servers:
        proc, log_path = _servers[-1]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGUSR1)
            time.sleep(1)
        report.sections.append(("linkflow up: the end of its log, then its threads' stacks",
                                log_path.read_text(errors="replace")[-SERVER_LOG_TAIL_CHARS:]))
    return report


def _wait_until_serving(url: str, proc: subprocess.Popen, log_path: Path, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"`linkflow up` exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            if httpx.get(url + "/", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail(f"`linkflow up` did not serve {url} within {timeout_s}s:\n{log_path.read_text()[-4000:]}")


@pytest.fixture(scope="session")
def base_url(app_server):
    return app_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Wide enough for palette + canvas + node panel; clipboard for copy/paste of nodes.
    return {**browser_context_args, "viewport": {"width": 1600, "height": 1000},
            "permissions": ["clipboard-read", "clipboard-write"]}


@dataclass
class Account:
    email: str
    password: str
    name: str
    tokens: dict
    api: httpx.Client  # the REST API as this user


def new_account(base_url: str, name: str = "Ada Lovelace") -> Account:
    email, password = f"e2e-{uuid.uuid4().hex[:10]}@example.com", "correct horse battery staple"
    response = httpx.post(f"{base_url}/api/v1/auth/signup", json={"email": email, "password": password, "name": name})
    response.raise_for_status()
    tokens = response.json()
    client = httpx.Client(base_url=f"{base_url}/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return Account(email, password, name, tokens, client)


@pytest.fixture
def account(base_url):
    acc = new_account(base_url)
    yield acc
    acc.api.close()


@pytest.fixture
def signed_in_page(page, base_url, account):
    """A page whose browser holds `account`'s session (as after signing in), on /workflows."""
    page.goto(base_url + "/login")
    page.evaluate("""([access, refresh, team]) => {
        localStorage.setItem("lf_access", access);
        localStorage.setItem("lf_refresh", refresh);
        localStorage.setItem("lf_team", team);
    }""", [account.tokens["access_token"], account.tokens["refresh_token"], account.tokens["team"]["id"]])
    page.goto(base_url + "/workflows")
    page.get_by_role("button", name="New workflow").wait_for()
    return page


class Editor:
    """Drives the workflow editor the way a person does: palette drags, handle drags, the node panel."""

    def __init__(self, page, workflow_id: str):
        self.page, self.workflow_id = page, workflow_id
        self.canvas = page.get_by_test_id("canvas")
        self.panel = page.get_by_role("complementary", name="Node panel")

    def node(self, name: str):
        return self.page.locator(f'.react-flow__node:has([data-node-name="{name}"])')

    def drop(self, palette_label: str, x: int, y: int, expect_name: str | None = None):
        """Drag a palette item onto the canvas at (x, y) relative to the canvas."""
        from playwright.sync_api import expect

        self.page.get_by_role("button", name=f"Add {palette_label}", exact=True).drag_to(
            self.canvas, target_position={"x": x, "y": y})
        expect(self.node(expect_name or palette_label)).to_be_visible()

    def connect(self, source: str, output: str, target: str, input_: str = "main"):
        self.node(source).get_by_test_id(f"port-out-{output}").drag_to(
            self.node(target).get_by_test_id(f"port-in-{input_}"))

    def open(self, name: str):
        from playwright.sync_api import expect

        if self.panel.is_visible():  # it lies over the canvas's right side
            self.close_panel()
        self.node(name).click()
        expect(self.page.get_by_test_id("panel-node-name")).to_have_text(name)
        return self.panel

    def close_panel(self):
        self.panel.get_by_role("button", name="Close panel").click()

    def save(self):
        from playwright.sync_api import expect

        self.page.get_by_role("button", name="Save", exact=True).click()
        expect(self.page.get_by_test_id("unsaved")).to_have_count(0)

    def definition(self, api: httpx.Client) -> dict:
        return api.get(f"/workflows/{self.workflow_id}").json()["definition"]


@pytest.fixture
def open_editor(signed_in_page, base_url, account):
    """Create a workflow through the API (optionally with a definition) and open it in the editor."""

    def _open(name: str = "E2E workflow", definition: dict | None = None) -> Editor:
        workflow = account.api.post("/workflows", json={"name": name, "definition": definition or {}}).json()
        signed_in_page.goto(f"{base_url}/workflows/{workflow['id']}")
        editor = Editor(signed_in_page, workflow["id"])
        editor.canvas.wait_for()
        from playwright.sync_api import expect

        expect(editor.canvas).to_have_attribute("data-node-count", str(len((definition or {}).get("nodes", []))))
        expect(editor.canvas).to_have_attribute("data-ready", "true")  # fitted: positions hold still
        return editor

    return _open


# ------------------------------------------------------------------ billing on (LINKFLOW_BILLING_BACKEND=stripe)

BILLING_SECRET = "whsec_e2e_tests_only"


@dataclass
class BillingApp:
    url: str
    data_dir: Path
    env: dict
    stripe: object  # tests/integration/stripe_proxy.StripeProxy in front of stripe-mock


@pytest.fixture(scope="session")
def billing_app(tmp_path_factory):
    """A second `linkflow up` with billing on, its Stripe API going to stripe-mock through a recording proxy.

    It builds its UI in a web directory of its own (REFLEX_WEB_WORKDIR), so it can run beside the first
    app: the backend URL is baked into each bundle."""
    stripe_url = os.environ.get("LINKFLOW_TEST_STRIPE_URL")
    if not stripe_url:
        service_missing("LINKFLOW_TEST_STRIPE_URL is not set: run `bash deploy/local/infra.sh up stripe` (make test does)")
    from tests.integration.stripe_proxy import StripeProxy

    proxy = StripeProxy(stripe_url)
    port, data = _free_port(), tmp_path_factory.mktemp("e2e-billing-data")
    env = {**os.environ, "LINKFLOW_DATA_DIR": str(data), "LINKFLOW_HTTP_PORT": str(port),
           "REFLEX_API_URL": f"http://127.0.0.1:{port}", "REFLEX_WEB_WORKDIR": str(ROOT / ".web-e2e-billing"),
           "LINKFLOW_BILLING_BACKEND": "stripe", "LINKFLOW_BILLING_STRIPE_API_KEY": "sk_test_e2e",
           "LINKFLOW_BILLING_STRIPE_WEBHOOK_SECRET": BILLING_SECRET, "LINKFLOW_BILLING_STRIPE_API_BASE": proxy.url}
    log = open(data / "server.log", "w")  # noqa: SIM115 - kept open for the server's lifetime
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "up"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, proc, data / "server.log")
        yield BillingApp(url, data, env, proxy)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        proxy.close()
