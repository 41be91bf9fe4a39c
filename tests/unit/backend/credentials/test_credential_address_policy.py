"""Credential tests and OAuth2 token calls may not reach internal addresses (issue #11, part 4).

Each attack points a credential type at this machine in one of the ways a URL or host
can spell it, once at a port where a real listener accepts connections (and counts
them) and once at a closed port. What must hold: the test fails with the address
policy's refusal, the message is the same for the open and the closed port, and the
listener was never connected to. The controls show the listener does count: with
LINKFLOW_HTTP_ALLOW_LIST naming the address, the very same tests connect to it.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from vault_testkit import Answer

from backend.credentials import service as vault
from backend.credentials.registry import default_registry
from backend.credentials.types import TestResult
from backend.db.session import session_scope
from backend.errors import UserError
from backend.settings import get_settings

POLICY_HINT = "LINKFLOW_HTTP_ALLOW_LIST"


class Listener:
    """A TCP port on ``host`` that accepts connections, counts them and closes them at once."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.02)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def connections(self, settle_s: float = 0.2) -> int:
        """Connections accepted so far, after giving one still in the backlog time to be counted."""
        time.sleep(settle_s)
        return self.accepted

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def _closed_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def listeners():
    opened = {"127.0.0.1": Listener("127.0.0.1"), "::1": Listener("::1")}
    yield opened
    for listener in opened.values():
        listener.close()


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# Values of each type aimed at (host, port); every type with a test() is here.
TARGETS = {
    "api_key_header": lambda h, p: {"api_key": "key-1234", "test_url": f"http://{_netloc(h, p)}/health"},
    "bearer_token": lambda h, p: {"token": "token-1234", "test_url": f"http://{_netloc(h, p)}/health"},
    "http_basic": lambda h, p: {"username": "ada", "password": "pw-1234", "test_url": f"http://{_netloc(h, p)}/"},
    "slack": lambda h, p: {"bot_token": "xoxb-1234", "api_base_url": f"http://{_netloc(h, p)}/api"},
    "stripe": lambda h, p: {"secret_key": "sk_test_1234", "api_base_url": f"http://{_netloc(h, p)}"},
    "openai": lambda h, p: {"api_key": "sk-1234", "base_url": f"http://{_netloc(h, p)}/v1"},
    "oauth2": lambda h, p: {"grant_type": "client_credentials", "client_id": "app", "client_secret": "cs-1234",
                            "token_url": f"http://{_netloc(h, p)}/token"},
    "aws_s3": lambda h, p: {"access_key_id": "AKID1234", "secret_access_key": "sk-1234",
                            "endpoint_url": f"http://{_netloc(h, p)}"},
    "postgres": lambda h, p: {"host": h, "port": p, "database": "app", "user": "app", "password": "pw-1234"},
    "redis": lambda h, p: {"host": h, "port": p, "password": "pw-1234"},
    "smtp": lambda h, p: {"host": h, "port": p, "security": "none", "username": "mailer", "password": "pw-1234"},
    "mysql": lambda h, p: {"host": h, "port": p, "database": "app", "user": "app", "password": "pw-1234"},
    "github": lambda h, p: {"access_token": "ghp_1234", "api_base_url": f"http://{_netloc(h, p)}"},
    "gitlab": lambda h, p: {"access_token": "glpat-1234", "server_url": f"http://{_netloc(h, p)}"},
    "jira": lambda h, p: {"site_url": f"http://{_netloc(h, p)}", "email": "ada@example.com", "api_token": "t-1234"},
    "notion": lambda h, p: {"api_key": "secret_1234", "api_base_url": f"http://{_netloc(h, p)}/v1"},
    "airtable": lambda h, p: {"access_token": "pat1234", "api_base_url": f"http://{_netloc(h, p)}/v0"},
    "google_sheets": lambda h, p: {"auth_type": "api_key", "api_key": "AIza1234",
                                   "api_base_url": f"http://{_netloc(h, p)}/v4"},
    "kafka": lambda h, p: {"bootstrap_servers": _netloc(h, p), "security_protocol": "SASL_PLAINTEXT",
                           "username": "app", "password": "pw-1234"},
    "telegram": lambda h, p: {"bot_token": "1234:tok", "api_base_url": f"http://{_netloc(h, p)}"},
    "discord_webhook": lambda h, p: {"webhook_url": f"http://{_netloc(h, p)}/api/webhooks/1/tok-1234"},
    "discord_bot": lambda h, p: {"bot_token": "bot-1234", "api_base_url": f"http://{_netloc(h, p)}/api/v10"},
    "twilio": lambda h, p: {"account_sid": "AC" + "0" * 32, "auth_token": "tw-1234",
                            "api_base_url": f"http://{_netloc(h, p)}"},
    "sendgrid": lambda h, p: {"api_key": "SG.1234", "api_base_url": f"http://{_netloc(h, p)}"},
    "hubspot": lambda h, p: {"access_token": "pat-1234", "api_base_url": f"http://{_netloc(h, p)}"},
    "ssh": lambda h, p: {"host": h, "port": p, "username": "app", "password": "pw-1234"},
    "imap": lambda h, p: {"host": h, "port": p, "security": "none", "user": "app", "password": "pw-1234"},
    "rabbitmq": lambda h, p: {"host": h, "port": p, "vhost": "/", "user": "app", "password": "pw-1234"},
}

# (how the host is written, the listener it reaches)
LOOPBACK_SPELLINGS = [
    ("127.0.0.1", "127.0.0.1"),
    ("localhost", "127.0.0.1"),  # a name that resolves to loopback
    ("2130706433", "127.0.0.1"),  # 127.0.0.1 as one decimal number
    ("0177.0.0.1", "127.0.0.1"),  # octal
    ("0x7f.0.0.1", "127.0.0.1"),  # hexadecimal
    ("127.1", "127.0.0.1"),  # short form
    ("::ffff:127.0.0.1", "127.0.0.1"),  # IPv4-mapped IPv6
    ("::1", "::1"),
    ("0.0.0.0", "127.0.0.1"),  # "this host": Linux connects it to the loopback listener
]


def test_every_credential_type_with_a_test_is_attacked_here():
    assert set(TARGETS) == set(default_registry().names())


async def _test(type_name: str, values: dict) -> TestResult:
    ctype = default_registry().get(type_name)
    return await ctype.test(ctype.Fields.model_validate(values))


URL_TYPES = {"api_key_header", "bearer_token", "http_basic", "slack", "stripe", "oauth2", "aws_s3", "openai",
             "github", "gitlab", "jira", "notion", "airtable", "google_sheets",
             "telegram", "discord_webhook", "discord_bot", "twilio", "sendgrid", "hubspot"}
UNPARSABLE_IN_URLS = {"0177.0.0.1"}  # httpx will not parse an octal address in a URL


def _refused(type_name: str, host: str, message: str) -> bool:
    if type_name in URL_TYPES and host in UNPARSABLE_IN_URLS:
        return "is not a valid http(s) URL" in message
    return f"refused to connect to {host}: " in message and POLICY_HINT in message


@pytest.mark.parametrize("type_name", sorted(TARGETS))
@pytest.mark.parametrize(("host", "reaches"), LOOPBACK_SPELLINGS)
async def test_a_loopback_target_is_refused_alike_for_open_and_closed_ports(listeners, type_name, host, reaches):
    listener = listeners[reaches]
    open_result = await _test(type_name, TARGETS[type_name](host, listener.port))
    closed_port = _closed_port(reaches)
    closed_result = await _test(type_name, TARGETS[type_name](host, closed_port))

    assert open_result.ok is False and _refused(type_name, host, open_result.message), open_result.message
    # The same answer, except where it repeats the port it was given (only URLs httpx cannot parse do).
    assert open_result.message.replace(str(listener.port), "<port>") == \
        closed_result.message.replace(str(closed_port), "<port>")
    assert listener.connections() == 0


@pytest.mark.parametrize("type_name", sorted(TARGETS))
@pytest.mark.parametrize(("host", "kind"), [
    ("169.254.169.254", "link-local"), ("10.1.2.3", "private"), ("192.168.1.1", "private"),
    ("100.64.0.1", "non-public"), ("fe80::1", "link-local"), ("fd00::1", "private"),
])
async def test_private_and_link_local_targets_are_refused_by_class(type_name, host, kind):
    result = await _test(type_name, TARGETS[type_name](host, 80))
    assert result.ok is False
    assert f"refused to connect to {host}: it is a {kind} address" in result.message
    assert POLICY_HINT in result.message


@pytest.mark.parametrize("type_name", sorted(TARGETS))
async def test_control_the_allow_list_lets_the_same_test_connect(listeners, monkeypatch, type_name):
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    listener = listeners["127.0.0.1"]
    result = await _test(type_name, TARGETS[type_name]("127.0.0.1", listener.port))
    assert result.ok is False and POLICY_HINT not in result.message  # the listener hangs up on everyone
    assert listener.connections() >= 1


REDIRECTING_TYPES = ["api_key_header", "bearer_token", "http_basic", "slack", "stripe", "openai",
                     "github", "gitlab", "jira", "notion", "airtable", "google_sheets",
                     "telegram"]


@pytest.mark.parametrize("type_name", REDIRECTING_TYPES)
async def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(listeners, http_server, monkeypatch,
                                                                       type_name):
    listener = listeners["127.0.0.1"]
    bounce = http_server(lambda request: Answer(302, "", {"Location": f"http://127.0.0.1:{listener.port}/x"}),
                         host="127.0.0.2")
    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.2")
    get_settings.cache_clear()
    port = bounce.url.rsplit(":", 1)[1]

    result = await _test(type_name, TARGETS[type_name]("127.0.0.2", int(port)))

    assert len(bounce.seen) == 1  # the allowed host was asked, and answered with the redirect
    assert result.ok is False and result.message.startswith("refused to connect to 127.0.0.1: it is a loopback")
    assert listener.connections() == 0


# ---- OAuth2 token endpoint calls outside test(): the code exchange and the refresh at run time ----------------

def _oauth_credential(team_id: str, token_url: str, **values) -> str:
    with session_scope() as session:
        return vault.create_credential(session, team_id=team_id, name=f"Provider {time.monotonic_ns()}",
                                       type="oauth2", values={
                                           "client_id": "app", "client_secret": "cs-1234",
                                           "authorize_url": "https://provider.example/authorize",
                                           "token_url": token_url, **values}).id


def _exchange(team_id: str, token_url: str) -> str:
    credential_id = _oauth_credential(team_id, token_url)
    url = vault.start_authorization(team_id, credential_id, "http://127.0.0.1:3000/callback")
    state = dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))["state"]
    with pytest.raises(UserError) as refused:
        vault.complete_authorization(state, "code-from-the-provider")
    return refused.value.message


def _refresh(team_id: str, token_url: str) -> str:
    credential_id = _oauth_credential(team_id, token_url, access_token="old-token", refresh_token="rt-1234",
                                      expires_at=int(time.time()) - 60)
    with pytest.raises(UserError) as refused:
        vault.resolve_for_node(team_id, credential_id, node_name="Call API")
    return refused.value.message


@pytest.mark.parametrize("call", [_exchange, _refresh])
def test_oauth2_token_calls_at_a_loopback_token_url_are_refused_alike(team_id, listeners, call):
    listener = listeners["127.0.0.1"]
    open_message = call(team_id, f"http://localhost:{listener.port}/token")
    closed_message = call(team_id, f"http://localhost:{_closed_port('127.0.0.1')}/token")
    assert "the token endpoint cannot be used: refused to connect to localhost: it resolves to 127.0.0.1, " \
           "a loopback address" in open_message
    assert open_message.split(": ", 1)[1] == closed_message.split(": ", 1)[1]  # after "credential '<name>'"
    assert listener.connections() == 0


# ---- through the API ----------------------------------------------------------------------------------------

def test_the_test_endpoint_answers_the_same_for_an_open_and_a_closed_loopback_port(api, api_user, listeners):
    owner = api_user("owner@example.com")
    listener = listeners["127.0.0.1"]

    def test_at(port: int) -> dict:
        created = api.post("/api/v1/credentials", headers=owner.headers, json={
            "name": f"Partner {port}", "type": "api_key_header",
            "values": {"api_key": "key-1234", "test_url": f"http://127.0.0.1:{port}/health"}})
        return api.post(f"/api/v1/credentials/{created.json()['id']}/test", headers=owner.headers).json()

    open_answer, closed_answer = test_at(listener.port), test_at(_closed_port("127.0.0.1"))
    assert open_answer == closed_answer == {"ok": False, "message": (
        "refused to connect to 127.0.0.1: it is a loopback address; LinkFlow does not connect there unless an "
        "administrator sets LINKFLOW_HTTP_ALLOW_PRIVATE=true or lists the host or address in "
        "LINKFLOW_HTTP_ALLOW_LIST (host names or CIDRs, comma-separated)")}
    assert listener.connections() == 0
