"""OAuth2 credentials against a real local authorization server (FastAPI under uvicorn, on 127.0.0.1).

The server auto-approves /authorize, and /token supports authorization_code with PKCE
(it verifies the S256 challenge), refresh_token and client_credentials.
"""

import base64
import hashlib
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Form, Header
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import select

from backend.credentials import service as vault
from backend.credentials.models import Credential
from backend.db.session import session_scope
from backend.errors import UserError

pytestmark = pytest.mark.usefixtures("allow_loopback")  # the authorization server is on 127.0.0.1
CLIENT_ID, CLIENT_SECRET = "linkflow-client", "client-secret-4242"
REDIRECT_URI = "http://127.0.0.1:3000/api/v1/credentials/oauth/callback"


@dataclass
class AuthServer:
    url: str
    codes: dict = field(default_factory=dict)  # code -> {challenge, redirect_uri}
    refresh_tokens: set = field(default_factory=set)
    grants: list = field(default_factory=list)  # grant types served, in order
    issued: list = field(default_factory=list)  # access tokens, in order


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _auth_app(server: AuthServer) -> FastAPI:
    app = FastAPI()

    def refuse(error: str) -> JSONResponse:
        return JSONResponse({"error": error}, status_code=400)

    def issue(with_refresh: bool) -> dict:
        token = {"access_token": f"at-{secrets.token_hex(8)}", "token_type": "Bearer", "expires_in": 3600}
        if with_refresh:
            token["refresh_token"] = f"rt-{secrets.token_hex(8)}"
            server.refresh_tokens.add(token["refresh_token"])
        server.issued.append(token["access_token"])
        return token

    @app.get("/authorize")
    def authorize(response_type: str, client_id: str, redirect_uri: str, code_challenge: str,
                  code_challenge_method: str, state: str):
        assert (response_type, client_id, code_challenge_method) == ("code", CLIENT_ID, "S256")
        code = secrets.token_hex(8)
        server.codes[code] = {"challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

    @app.post("/token")
    def token(grant_type: str = Form(), code: str = Form(""), code_verifier: str = Form(""),
              redirect_uri: str = Form(""), refresh_token: str = Form(""), authorization: str = Header("")):
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        server.grants.append(grant_type)
        if grant_type == "authorization_code":
            pending = server.codes.pop(code, None)
            if pending is None or pending["redirect_uri"] != redirect_uri or _s256(code_verifier) != pending["challenge"]:
                return refuse("invalid_grant")
            return issue(with_refresh=True)
        if grant_type == "refresh_token":
            if refresh_token not in server.refresh_tokens:
                return refuse("invalid_grant")
            server.refresh_tokens.discard(refresh_token)  # rotating refresh tokens
            return issue(with_refresh=True)
        if grant_type == "client_credentials":
            return issue(with_refresh=False)
        return refuse("unsupported_grant_type")

    return app


@pytest.fixture
def auth_server():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    state = AuthServer(url=f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(_auth_app(state), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the local authorization server did not start"
    yield state
    server.should_exit = True
    thread.join(timeout=10)


def _oauth_credential(team_id: str, server: AuthServer, **values) -> str:
    base = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "authorize_url": server.url + "/authorize",
            "token_url": server.url + "/token", "scope": "read write"}
    with session_scope() as session:
        return vault.create_credential(session, team_id=team_id, name=values.pop("name", "Provider"),
                                       type="oauth2", values={**base, **values}).id


def _approve(authorize_url: str) -> dict[str, str]:
    """What the browser does: open the provider's page (auto-approved) and land on the callback."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302
    callback = urlparse(answer.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT_URI
    return {k: v[0] for k, v in parse_qs(callback.query).items()}


def _row(credential_id: str) -> Credential:
    with session_scope() as session:
        return session.scalar(select(Credential).where(Credential.id == credential_id))


def _connect(team_id: str, credential_id: str) -> None:
    callback = _approve(vault.start_authorization(team_id, credential_id, REDIRECT_URI))
    vault.complete_authorization(callback["state"], callback["code"])


def test_authorization_code_with_pkce_end_to_end(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server)
    url = vault.start_authorization(team_id, credential_id, REDIRECT_URI)
    query = parse_qs(urlparse(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["read write"]
    assert "code_verifier" not in query

    callback = _approve(url)
    info = vault.complete_authorization(callback["state"], callback["code"])

    assert auth_server.grants == ["authorization_code"]
    assert {"access_token", "refresh_token", "expires_at"} <= set(info.fields_set)
    access_token = auth_server.issued[-1]
    row = _row(credential_id)
    assert access_token.encode() not in row.ciphertext and b"rt-" not in row.ciphertext
    assert vault.resolve_for_node(team_id, credential_id) == {"headers": {"Authorization": f"Bearer {access_token}"}}
    assert auth_server.grants == ["authorization_code"]  # a fresh token is used as is


def test_a_code_is_only_redeemed_with_the_verifier_of_its_own_state(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server)
    first = _approve(vault.start_authorization(team_id, credential_id, REDIRECT_URI))
    second = _approve(vault.start_authorization(team_id, credential_id, REDIRECT_URI))
    with pytest.raises(UserError, match="refused: invalid_grant"):
        vault.complete_authorization(second["state"], first["code"])  # the server checks S256(verifier)
    with session_scope() as session:
        assert "access_token" not in vault.get_credential(session, team_id, credential_id).fields_set


def test_an_expired_token_is_refreshed_before_use_and_stored_encrypted(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server)
    _connect(team_id, credential_id)
    first_token = auth_server.issued[-1]
    with session_scope() as session:
        vault.update_credential(session, team_id=team_id, credential_id=credential_id,
                                values={"expires_at": int(time.time()) - 5})
    before = _row(credential_id)

    injected = vault.resolve_for_node(team_id, credential_id)

    new_token = auth_server.issued[-1]
    assert auth_server.grants == ["authorization_code", "refresh_token"] and new_token != first_token
    assert injected == {"headers": {"Authorization": f"Bearer {new_token}"}}
    after = _row(credential_id)
    assert after.ciphertext != before.ciphertext and new_token.encode() not in after.ciphertext
    assert after.updated_at == before.updated_at  # a refresh is not an edit
    assert vault.resolve_for_node(team_id, credential_id) == injected  # stored: no second refresh
    assert auth_server.grants == ["authorization_code", "refresh_token"]


def test_a_token_about_to_expire_is_refreshed_within_the_skew(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server)
    _connect(team_id, credential_id)
    with session_scope() as session:
        vault.update_credential(session, team_id=team_id, credential_id=credential_id,
                                values={"expires_at": int(time.time()) + 30})
    vault.resolve_for_node(team_id, credential_id)
    assert auth_server.grants == ["authorization_code", "refresh_token"]


def test_a_refused_refresh_names_the_credential_and_no_secret(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server, name="CRM")
    _connect(team_id, credential_id)
    auth_server.refresh_tokens.clear()  # the provider revoked it
    with session_scope() as session:
        vault.update_credential(session, team_id=team_id, credential_id=credential_id,
                                values={"expires_at": int(time.time()) - 5})
    with pytest.raises(UserError, match=r"credential 'CRM': the token endpoint .* refused: invalid_grant") as caught:
        vault.resolve_for_node(team_id, credential_id)
    assert CLIENT_SECRET not in str(caught.value) and "rt-" not in str(caught.value)


def test_client_credentials_fetches_a_token_on_first_use_and_reuses_it(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server, grant_type="client_credentials", authorize_url="")
    first = vault.resolve_for_node(team_id, credential_id)
    assert first == {"headers": {"Authorization": f"Bearer {auth_server.issued[-1]}"}}
    assert vault.resolve_for_node(team_id, credential_id) == first
    assert auth_server.grants == ["client_credentials"]
    with pytest.raises(UserError, match="client_credentials grant: it needs no authorization"):
        vault.start_authorization(team_id, credential_id, REDIRECT_URI)


async def test_testing_a_client_credentials_credential_asks_for_a_token(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server, grant_type="client_credentials", authorize_url="",
                                      client_secret="wrong-secret")
    with session_scope() as session:
        result = await vault.test_connection(session, team_id, credential_id)
    assert result.ok is False and "refused: invalid_client" in result.message
    assert "wrong-secret" not in result.message


async def test_an_unconnected_authorization_code_credential_tests_as_not_connected(team_id, auth_server):
    credential_id = _oauth_credential(team_id, auth_server)
    with session_scope() as session:
        result = await vault.test_connection(session, team_id, credential_id)
    assert result.ok is False and result.message.startswith("not connected yet")
    with pytest.raises(UserError, match="credential 'Provider': not connected yet"):
        vault.resolve_for_node(team_id, credential_id)


def test_an_expired_authorization_request_is_refused(team_id, auth_server, monkeypatch):
    credential_id = _oauth_credential(team_id, auth_server)
    monkeypatch.setattr(vault, "STATE_TTL_S", -1)
    callback = _approve(vault.start_authorization(team_id, credential_id, REDIRECT_URI))
    with pytest.raises(UserError, match="unknown or older than"):
        vault.complete_authorization(callback["state"], callback["code"])
    assert auth_server.grants == []


def test_the_api_connects_a_credential_through_the_callback(api, api_user, auth_server, configure):
    owner = api_user("owner@example.com")
    credential_id = _oauth_credential(owner.team_id, auth_server)
    answer = api.get(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=owner.headers)
    assert answer.status_code == 200
    callback = _approve(answer.json()["authorize_url"])
    connected = api.get("/api/v1/credentials/oauth/callback", params=callback)  # no login: the state vouches
    assert connected.status_code == 200, connected.text
    assert "access_token" in connected.json()["fields_set"]
    assert auth_server.issued[-1] not in connected.text


def test_a_browser_connection_ends_back_on_the_credentials_page(api, api_user, auth_server):
    owner = api_user("owner@example.com")
    credential_id = _oauth_credential(owner.team_id, auth_server)
    answer = api.get(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=owner.headers,
                     params={"return_to": "/credentials"})
    callback = _approve(answer.json()["authorize_url"])
    landed = api.get("/api/v1/credentials/oauth/callback", params=callback, follow_redirects=False)
    assert landed.status_code == 303
    assert landed.headers["location"] == f"/credentials?connected={credential_id}"
    assert "access_token" in api.get(f"/api/v1/credentials/{credential_id}", headers=owner.headers).json()[
        "fields_set"]


def test_a_denied_browser_connection_lands_on_the_page_with_the_reason(api, api_user, auth_server):
    owner = api_user("owner@example.com")
    credential_id = _oauth_credential(owner.team_id, auth_server)
    answer = api.get(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=owner.headers,
                     params={"return_to": "/credentials"})
    state = parse_qs(urlparse(answer.json()["authorize_url"]).query)["state"][0]
    denied = api.get("/api/v1/credentials/oauth/callback", follow_redirects=False,
                     params={"state": state, "error": "access_denied", "error_description": "user said no"})
    assert denied.status_code == 303
    query = parse_qs(urlparse(denied.headers["location"]).query)
    assert urlparse(denied.headers["location"]).path == "/credentials"
    assert query["oauth_error"] == ["the provider did not grant access: access_denied (user said no)"]
    assert "access_token" not in api.get(f"/api/v1/credentials/{credential_id}", headers=owner.headers).json()[
        "fields_set"]


def test_a_browser_with_an_unknown_state_lands_on_the_page_and_api_clients_get_json(api):
    as_browser = api.get("/api/v1/credentials/oauth/callback", params={"state": "dev.AAAA", "code": "c"},
                         headers={"Accept": "text/html,application/xhtml+xml"}, follow_redirects=False)
    assert as_browser.status_code == 303
    assert "start+connecting+the+credential+again" in as_browser.headers["location"]
    assert as_browser.headers["location"].startswith("/credentials?oauth_error=")
    as_client = api.get("/api/v1/credentials/oauth/callback", params={"state": "dev.AAAA", "code": "c"})
    assert as_client.status_code == 400 and as_client.json()["error"]["code"] == "bad_request"


def test_return_to_must_be_a_path_of_this_site(api, api_user, auth_server):
    owner = api_user("owner@example.com")
    credential_id = _oauth_credential(owner.team_id, auth_server)
    for target in ("https://evil.example/", "//evil.example/x", "//evil/x", "/credentials?x=1"):
        answer = api.get(f"/api/v1/credentials/{credential_id}/oauth/authorize", headers=owner.headers,
                         params={"return_to": target})
        assert answer.status_code == 422, target
