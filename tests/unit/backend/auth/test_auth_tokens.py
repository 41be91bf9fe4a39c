"""Sign-up, sign-in, access tokens, refresh rotation with reuse detection, sign-out."""

from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
from auth_testkit import PASSWORD, audit_actions

from backend.db.base import utcnow
from backend.settings import get_settings

AUTH = "/api/v1/auth"


def login(api, email: str, password: str = PASSWORD):
    return api.post(f"{AUTH}/login", json={"email": email, "password": password})


def refresh(api, token: str):
    return api.post(f"{AUTH}/refresh", json={"refresh_token": token})


def test_signup_makes_an_owner_of_a_personal_team_and_signs_in(api, signup):
    account = signup("Ada@Example.com", name="Ada")
    me = api.get(f"{AUTH}/me", headers=account.headers)
    assert me.status_code == 200
    body = me.json()
    assert body["user"]["email"] == "ada@example.com" and body["user"]["name"] == "Ada"
    assert [(m["team"]["id"], m["role"]) for m in body["memberships"]] == [(account.team_id, "owner")]
    assert "password_hash" not in body["user"]
    assert audit_actions() == ["user.signup"]


def test_signup_with_a_taken_email_is_a_conflict_whatever_its_case(api, signup):
    signup("ada@example.com")
    response = api.post(f"{AUTH}/signup", json={"email": "ADA@example.com", "password": PASSWORD})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_signup_refuses_a_short_password_and_a_bad_email(api):
    short = api.post(f"{AUTH}/signup", json={"email": "a@example.com", "password": "short"})
    assert short.status_code == 400 and "at least 8" in short.json()["error"]["message"]
    bad = api.post(f"{AUTH}/signup", json={"email": "not-an-email", "password": PASSWORD})
    assert bad.status_code == 400 and "not a valid email" in bad.json()["error"]["message"]


def test_login_answers_the_same_for_a_wrong_password_and_an_unknown_email(api, signup):
    signup("ada@example.com")
    wrong_password = login(api, "ada@example.com", "not the password")
    unknown_user = login(api, "nobody@example.com")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.json() == unknown_user.json()
    assert wrong_password.headers["WWW-Authenticate"] == "Bearer"


def test_login_returns_tokens_that_work_and_is_audited(api, signup):
    account = signup("ada@example.com")
    response = login(api, "ADA@example.com")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    assert body["user"]["last_login_at"] is not None
    me = api.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["user"]["id"] == account.user_id
    assert audit_actions()[-1] == "auth.login"


def test_refresh_rotates_the_pair_and_reuse_revokes_the_whole_family(api, signup):
    account = signup("ada@example.com")
    other_session = login(api, "ada@example.com").json()["refresh_token"]

    first = refresh(api, account.refresh_token)
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != account.refresh_token
    assert api.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}).status_code == 200

    replay = refresh(api, account.refresh_token)  # a stolen, already used token comes back
    assert replay.status_code == 401
    assert "already used" in replay.json()["error"]["message"]
    assert refresh(api, rotated["refresh_token"]).status_code == 401, "the family's newest token is revoked too"
    assert refresh(api, other_session).status_code == 200, "another sign-in is another family"


def test_logout_revokes_the_presented_tokens_family(api, signup):
    account = signup("ada@example.com")
    newer = refresh(api, account.refresh_token).json()["refresh_token"]
    assert api.post(f"{AUTH}/logout", json={"refresh_token": account.refresh_token}).status_code == 204
    assert refresh(api, newer).status_code == 401
    assert api.post(f"{AUTH}/logout", json={"refresh_token": "unknown"}).status_code == 204


def _token(secret: str, **claims) -> str:
    now = utcnow()
    base = {"sub": "x", "iat": now, "exp": now + timedelta(minutes=5), "jti": uuid.uuid4().hex, "type": "access"}
    return jwt.encode({**base, **claims}, secret, algorithm="HS256")


def test_expired_forged_and_missing_credentials_are_401_with_a_bearer_challenge(api, signup):
    account = signup("ada@example.com")
    secret = get_settings().security.secret_key
    expired = _token(secret, sub=account.user_id, iat=utcnow() - timedelta(hours=1),
                     exp=utcnow() - timedelta(minutes=1))
    cases = {
        "expired": {"Authorization": f"Bearer {expired}"},
        "forged": {"Authorization": f"Bearer {_token('another-secret-of-32-characters!!', sub=account.user_id)}"},
        "refresh token as access token": {"Authorization": f"Bearer {account.refresh_token}"},
        "wrong type": {"Authorization": f"Bearer {_token(secret, sub=account.user_id, type='refresh')}"},
        "missing": {},
    }
    for name, headers in cases.items():
        response = api.get(f"{AUTH}/me", headers=headers)
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"] == "Bearer", name
        assert response.json()["error"]["code"] == "unauthorized", name
    assert "expired" in api.get(f"{AUTH}/me", headers=cases["expired"]).json()["error"]["message"]


def test_access_token_claims_are_the_documented_ones(signup, api):
    account = signup("ada@example.com")
    claims = jwt.decode(account.access_token, get_settings().security.secret_key, algorithms=["HS256"])
    assert claims["sub"] == account.user_id and claims["type"] == "access"
    assert claims["exp"] - claims["iat"] == 15 * 60 and len(claims["jti"]) == 32


def test_access_tokens_of_a_signed_out_session_stop_working_and_other_sessions_keep_theirs(api, signup):
    account = signup("ada@example.com")
    other = login(api, "ada@example.com").json()
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    rotated = refresh(api, account.refresh_token).json()
    rotated_headers = {"Authorization": f"Bearer {rotated['access_token']}"}
    # before sign-out: the first access token, the one from the rotation and the other sign-in all work
    for headers in (account.headers, rotated_headers, other_headers):
        assert api.get(f"{AUTH}/me", headers=headers).status_code == 200
    assert api.post(f"{AUTH}/logout", json={"refresh_token": rotated["refresh_token"]}).status_code == 204
    for headers in (account.headers, rotated_headers):
        response = api.get(f"{AUTH}/me", headers=headers)
        assert response.status_code == 401
        assert "signed out" in response.json()["error"]["message"]
    assert api.get(f"{AUTH}/me", headers=other_headers).status_code == 200


def test_reusing_a_rotated_refresh_token_also_cuts_off_its_access_tokens(api, signup):
    account = signup("ada@example.com")
    fresh = refresh(api, account.refresh_token).json()
    assert refresh(api, account.refresh_token).status_code == 401  # reuse: the family is revoked
    assert api.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {fresh['access_token']}"}).status_code == 401
