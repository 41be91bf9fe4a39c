"""OAuth2/OIDC sign-in against a real local provider (uvicorn on 127.0.0.1), not a mocked authlib."""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
import time
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import uvicorn
from auth_testkit import Account, enable_two_factor
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.auth.models import TwoFactorSecret
from backend.db import migrate
from backend.db.session import session_scope
from backend.settings import get_settings
from backend.users.models import Team

CLIENT_ID, CLIENT_SECRET = "linkflow", "provider-side-secret"


class LocalProvider:
    """Auto-approving OIDC provider: discovery, authorize, token (client secret + PKCE S256), userinfo."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.profile = {"sub": "idp-1", "email": "Ada@IdP.example", "email_verified": True, "name": "Ada L"}
        self.codes: dict[str, dict] = {}
        self.access_tokens: set[str] = set()
        self.app = FastAPI()
        self.app.get("/.well-known/openid-configuration")(self.discovery)
        self.app.get("/authorize")(self.authorize)
        self.app.post("/token")(self.token)
        self.app.get("/userinfo")(self.userinfo)

    def discovery(self) -> dict:
        return {"issuer": self.base_url, "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token", "userinfo_endpoint": f"{self.base_url}/userinfo",
                "code_challenge_methods_supported": ["S256"], "response_types_supported": ["code"]}

    def authorize(self, client_id: str, redirect_uri: str, state: str, code_challenge: str,
                  code_challenge_method: str, response_type: str, scope: str) -> RedirectResponse:
        assert (client_id, response_type, code_challenge_method) == (CLIENT_ID, "code", "S256")
        assert {"openid", "email"} <= set(scope.split())
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"challenge": code_challenge, "redirect_uri": redirect_uri}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}", status_code=302)

    async def token(self, request: Request, authorization: str = Header("")) -> dict:
        form = await request.form()
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        grant = self.codes.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if authorization != expected or grant is None or challenge != grant["challenge"] \
                or form.get("redirect_uri") != grant["redirect_uri"]:
            raise HTTPException(400, detail="invalid_grant")
        access = secrets.token_urlsafe(16)
        self.access_tokens.add(access)
        return {"access_token": access, "token_type": "Bearer", "expires_in": 3600}

    def userinfo(self, authorization: str = Header("")) -> dict:
        if authorization.removeprefix("Bearer ") not in self.access_tokens:
            raise HTTPException(401)
        return self.profile


@pytest.fixture
def provider():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    idp = LocalProvider(f"http://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(idp.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield idp
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def oauth_api(configure, provider):
    configure(SECURITY_OAUTH_PROVIDER_NAME="LocalIdP", SECURITY_OAUTH_CLIENT_ID=CLIENT_ID,
              SECURITY_OAUTH_CLIENT_SECRET=CLIENT_SECRET,
              SECURITY_OAUTH_SERVER_METADATA_URL=f"{provider.base_url}/.well-known/openid-configuration")
    migrate.upgrade(get_settings().database_url)
    with TestClient(create_app()) as client:
        yield client


def consent(api) -> str:
    """Start sign-in, let the provider approve; the callback path + query it sends the browser to."""
    start = api.get("/api/v1/auth/oauth/login", follow_redirects=False)
    assert start.status_code == 302, start.text
    approved = httpx.get(start.headers["location"], follow_redirects=False)
    assert approved.status_code == 302
    back = urlparse(approved.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == get_settings().public_url
    return f"{back.path}?{back.query}"


def sign_in(api) -> dict:
    finished = api.get(consent(api), follow_redirects=False)
    assert finished.status_code == 303, finished.text
    location = urlparse(finished.headers["location"])
    assert location.path == "/" and not location.query, "tokens travel in the fragment only"
    return {k: v[0] for k, v in parse_qs(location.fragment).items()}


def test_first_sign_in_creates_the_account_and_the_next_finds_it(oauth_api, provider):
    tokens = sign_in(oauth_api)
    assert tokens["token_type"] == "bearer" and tokens["refresh_token"]
    me = oauth_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert me["user"]["email"] == "ada@idp.example" and me["user"]["name"] == "Ada L"
    assert [m["role"] for m in me["memberships"]] == ["owner"]
    assert not provider.codes, "the code was redeemed"

    again = sign_in(oauth_api)
    me_again = oauth_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {again['access_token']}"})
    assert me_again.json()["user"]["id"] == me["user"]["id"]


def test_sign_in_links_an_existing_account_with_the_verified_email(oauth_api):
    created = oauth_api.post("/api/v1/auth/signup", json={"email": "ada@idp.example", "password": "long password"})
    tokens = sign_in(oauth_api)
    me = oauth_api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}).json()
    assert me["user"]["id"] == created.json()["user"]["id"]


def test_a_callback_with_another_state_is_refused(oauth_api):
    path = consent(oauth_api)
    forged = path.replace("state=", "state=x")
    response = oauth_api.get(forged, follow_redirects=False)
    assert response.status_code == 401 and "start again" in response.json()["error"]["message"]


def test_a_callback_in_another_browser_is_refused(oauth_api):
    path = consent(oauth_api)
    with TestClient(create_app()) as other_browser:  # no state cookie
        assert other_browser.get(path, follow_redirects=False).status_code == 401


def test_an_unverified_email_is_refused(oauth_api, provider):
    provider.profile = {**provider.profile, "email_verified": False}
    response = oauth_api.get(consent(oauth_api), follow_redirects=False)
    assert response.status_code == 401 and "not verified" in response.json()["error"]["message"]


def test_a_provider_error_is_reported(oauth_api):
    response = oauth_api.get("/api/v1/auth/oauth/callback?error=access_denied&state=x", follow_redirects=False)
    assert response.status_code == 401 and "access_denied" in response.json()["error"]["message"]


def test_without_a_configured_provider_the_endpoints_are_404(api):
    response = api.get("/api/v1/auth/oauth/login", follow_redirects=False)
    assert response.status_code == 404 and "LINKFLOW_SECURITY_OAUTH_CLIENT_ID" in response.json()["error"]["message"]



def test_oauth_sign_in_skips_the_code_and_satisfies_a_team_requirement(oauth_api):
    created = oauth_api.post("/api/v1/auth/signup", json={"email": "ada@idp.example", "password": "long password"})
    body = created.json()
    ada = Account("ada@idp.example", "long password", body["user"]["id"], body["team"]["id"], body["access_token"],
                  body["refresh_token"])
    enable_two_factor(oauth_api, ada)
    password_step = oauth_api.post("/api/v1/auth/login", json={"email": ada.email, "password": ada.password})
    assert password_step.json()["mfa_required"] is True
    tokens = sign_in(oauth_api)  # no code asked: the identity provider owns the second factor
    assert tokens["access_token"] and tokens["refresh_token"]

    with session_scope() as session:  # the team requires it, and the account has none (never enrolled)
        session.get(Team, ada.team_id).require_2fa = True
        session.delete(session.get(TwoFactorSecret, ada.user_id))
    oauth_session = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert oauth_api.get("/api/v1/workflows", headers=oauth_session).status_code == 200
    assert oauth_api.get("/api/v1/workflows", headers=ada.headers).json()["error"]["code"] == "two_factor_required"
