"""/api/v1/users/me: read and change your own profile and password."""

from __future__ import annotations

from auth_testkit import PASSWORD, audit_actions

ME = "/api/v1/users/me"


def test_me_shows_the_profile_without_secrets(api, signup):
    account = signup("ada@example.com", name="Ada")
    body = api.get(ME, headers=account.headers).json()
    assert body["id"] == account.user_id and body["email"] == "ada@example.com" and body["name"] == "Ada"
    assert body["is_admin"] is False and "password_hash" not in body


def test_rename(api, signup):
    account = signup("ada@example.com")
    response = api.patch(ME, json={"name": "  Ada Lovelace "}, headers=account.headers)
    assert response.status_code == 200 and response.json()["name"] == "Ada Lovelace"
    assert api.get(ME, headers=account.headers).json()["name"] == "Ada Lovelace"
    assert api.patch(ME, json={"name": "  "}, headers=account.headers).status_code == 400


def test_a_password_change_needs_the_current_password(api, signup):
    account = signup("ada@example.com")
    missing = api.patch(ME, json={"password": "a new password"}, headers=account.headers)
    assert missing.status_code == 400 and "current_password" in missing.json()["error"]["message"]
    wrong = api.patch(ME, json={"password": "a new password", "current_password": "nope"}, headers=account.headers)
    assert wrong.status_code == 403
    login = lambda pw: api.post("/api/v1/auth/login", json={"email": account.email, "password": pw})  # noqa: E731
    assert login(PASSWORD).status_code == 200, "a refused change changes nothing"


def test_a_password_change_works_and_signs_other_sessions_out(api, signup):
    account = signup("ada@example.com")
    changed = api.patch(ME, json={"password": "a new password", "current_password": PASSWORD}, headers=account.headers)
    assert changed.status_code == 200
    login = lambda pw: api.post("/api/v1/auth/login", json={"email": account.email, "password": pw})  # noqa: E731
    assert login("a new password").status_code == 200
    assert login(PASSWORD).status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}).status_code == 401


def test_unknown_fields_are_refused(api, signup):
    account = signup("ada@example.com")
    response = api.patch(ME, json={"is_admin": True}, headers=account.headers)
    assert response.status_code == 422
    assert api.get(ME, headers=account.headers).json()["is_admin"] is False


PASSWORD_URL = f"{ME}/password"


def _login(api, email: str, password: str):
    return api.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_password_change_endpoint_signs_other_sessions_out_and_keeps_this_one(api, signup):
    account = signup("ada@example.com")
    other = _login(api, account.email, PASSWORD).json()  # a second browser
    changed = api.post(PASSWORD_URL, json={"current_password": PASSWORD, "new_password": "a new password"},
                       headers=account.headers)
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert _login(api, account.email, "a new password").status_code == 200
    assert _login(api, account.email, PASSWORD).status_code == 401
    for old in (account.refresh_token, other["refresh_token"]):
        assert api.post("/api/v1/auth/refresh", json={"refresh_token": old}).status_code == 401
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]}).status_code == 200
    assert "user.password_change" in audit_actions()


def test_password_change_endpoint_refuses_clearly_and_changes_nothing(api, signup):
    account = signup("ada@example.com")
    cases = [({"current_password": "wrong one", "new_password": "a new password"}, 403, "current password is wrong"),
             ({"current_password": PASSWORD, "new_password": "short"}, 400, "at least 8"),
             ({"current_password": PASSWORD, "new_password": PASSWORD}, 400, "same as the current"),
             ({"new_password": "a new password"}, 422, "invalid")]
    for body, status, message in cases:
        response = api.post(PASSWORD_URL, json=body, headers=account.headers)
        assert response.status_code == status, body
        assert message in response.json()["error"]["message"], response.text
    assert _login(api, account.email, PASSWORD).status_code == 200
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}).status_code == 200
    assert "user.password_change" not in audit_actions()
    assert api.post(PASSWORD_URL, json={"current_password": PASSWORD, "new_password": "x" * 12}).status_code == 401
