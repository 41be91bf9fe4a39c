"""Two-factor sign-in (TOTP): enrolment, the code step of sign-in, recovery codes, and the attacks
on it: token confusion, guessing, replay, swapped tokens, secret leaks. API keys keep working."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auth_testkit import audit_events, enable_two_factor
from sqlalchemy import select

from backend.auth import tokens, totp
from backend.auth.models import RecoveryCode, TwoFactorSecret
from backend.db.base import utcnow
from backend.db.session import session_scope
from backend.users.models import User

LOGIN, MFA = "/api/v1/auth/login", "/api/v1/auth/login/mfa"


@pytest.fixture
def otp_clock(monkeypatch):
    """The TOTP clock, at the start of a 30 s step; move it with `otp_clock[0] += 30`."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(totp, "clock", lambda: now[0])
    return now


@pytest.fixture
def lock_clock(api):
    now = [1_000_000.0]
    api.app.state.signin_throttle.clock = lambda: now[0]
    return now


def challenge(api, account) -> str:
    response = api.post(LOGIN, json={"email": account.email, "password": account.password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True and "access_token" not in body and "refresh_token" not in body
    return body["mfa_token"]


def second_step(api, mfa_token: str, code: str):
    return api.post(MFA, json={"mfa_token": mfa_token, "code": code})


def test_enrolment_shows_the_secret_once_and_turns_sign_in_two_step(api, signup, otp_clock):
    ada = signup("ada@example.com")
    assert api.get("/api/v1/auth/2fa", headers=ada.headers).json() == {
        "enabled": False, "pending": False, "enabled_at": None, "recovery_codes_left": 0}
    setup = api.post("/api/v1/auth/2fa/setup", headers=ada.headers).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/LinkFlow:ada%40example.com?secret=" + setup["secret"])
    assert setup["qr_code"].startswith("data:image/svg+xml")
    assert api.get("/api/v1/auth/2fa", headers=ada.headers).json()["pending"] is True
    assert api.post(LOGIN, json={"email": ada.email, "password": ada.password}).json()["access_token"], \
        "pending enrolment changes nothing at sign-in"

    wrong = api.post("/api/v1/auth/2fa/enable", json={"code": "000000"}, headers=ada.headers)
    assert wrong.status_code == 400 and "does not match" in wrong.json()["error"]["message"]
    step = totp.current_step()
    enabled = api.post("/api/v1/auth/2fa/enable", json={"code": totp.code_for(setup["secret"], step)},
                       headers=ada.headers)
    assert enabled.status_code == 200
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    status = api.get("/api/v1/auth/2fa", headers=ada.headers).json()
    assert status["enabled"] is True and status["recovery_codes_left"] == 10

    again = api.post("/api/v1/auth/2fa/setup", headers=ada.headers)
    assert again.status_code == 409 and setup["secret"] not in again.text
    assert [e["action"] for e in audit_events() if e["action"].startswith("user.2fa")] == ["user.2fa_enabled"]
    with session_scope() as session:
        row = session.get(TwoFactorSecret, ada.user_id)
        assert setup["secret"].encode() not in row.ciphertext, "sealed by the vault"
        hashes = session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == ada.user_id)).all()
    assert not set(codes) & set(hashes) and len(hashes) == 10


def test_the_secret_appears_in_no_answer_after_enrolment(api, signup, otp_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    mfa_token = challenge(api, ada)
    otp_clock[0] += 30
    session = second_step(api, mfa_token, two.next_code())
    headers = {"Authorization": f"Bearer {session.json()['access_token']}"}
    answers = [session, api.get("/api/v1/auth/2fa", headers=headers), api.get("/api/v1/auth/me", headers=headers),
               api.get("/api/v1/users/me", headers=headers), api.post("/api/v1/auth/2fa/setup", headers=headers),
               api.get("/api/v1/audit", headers=headers), api.get("/api/v1/openapi.json")]
    for answer in answers:
        assert two.secret not in answer.text and two.secret.lower() not in answer.text, answer.request.url
    assert not any(two.secret in str(e) for e in audit_events())


def test_sign_in_completes_with_a_code_and_the_mfa_token_is_not_an_access_token(api, signup, otp_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    mfa_token = challenge(api, ada)
    as_bearer = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {mfa_token}"})
    assert as_bearer.status_code == 401 and "not an access token" in as_bearer.json()["error"]["message"]
    assert api.post("/api/v1/auth/refresh", json={"refresh_token": mfa_token}).status_code in (401, 422)

    otp_clock[0] += 30
    done = second_step(api, mfa_token, two.next_code())
    assert done.status_code == 200 and done.json()["user"]["email"] == ada.email
    assert api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"}
                   ).status_code == 200
    login = [e for e in audit_events() if e["action"] == "auth.login"][-1]
    assert login["details"] == {"method": "password", "second_factor": "totp"}


def test_an_expired_mfa_token_is_refused(api, signup, otp_clock, monkeypatch):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    monkeypatch.setattr(tokens, "utcnow", lambda: utcnow() - tokens.MFA_LIFETIME - timedelta(seconds=1))
    stale = challenge(api, ada)
    monkeypatch.undo()
    monkeypatch.setattr(totp, "clock", lambda: otp_clock[0] + 30)
    response = second_step(api, stale, two.next_code())
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]
    assert response.json()["error"]["code"] == "mfa_token_invalid"
    assert "access_token" not in response.text


def test_a_code_is_accepted_once(api, signup, otp_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    enrolment_code = totp.code_for(two.secret, two.last_step)
    assert second_step(api, challenge(api, ada), enrolment_code).status_code == 401, "used to enrol"
    otp_clock[0] += 30
    code = two.next_code()
    assert second_step(api, challenge(api, ada), code).status_code == 200
    replayed = second_step(api, challenge(api, ada), code)
    assert replayed.status_code == 401 and "already used" in replayed.json()["error"]["message"]
    reasons = [e["details"]["reason"] for e in audit_events() if e["action"] == "auth.login_failed"]
    assert reasons == ["replayed_code", "replayed_code"]
    older = totp.code_for(two.secret, two.last_step - 1)  # inside the window, but before the used one
    assert second_step(api, challenge(api, ada), older).status_code == 401


def test_guessing_codes_locks_the_account_and_a_new_password_step_does_not_reset_it(api, signup, otp_clock,
                                                                                    lock_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    mfa_token = challenge(api, ada)
    statuses = [second_step(api, mfa_token, f"{n:06d}").status_code for n in range(3)]
    mfa_token = challenge(api, ada)  # the password is known: it does not buy more guesses
    statuses += [second_step(api, mfa_token, f"{n:06d}").status_code for n in range(3, 5)]
    assert statuses == [401] * 4 + [429]
    otp_clock[0] += 30
    right = second_step(api, mfa_token, two.next_code())
    assert right.status_code == 429 and "try again in 60 s" in right.json()["error"]["message"]
    assert api.post(LOGIN, json={"email": ada.email, "password": ada.password}).status_code == 429
    assert [e["details"]["after"] for e in audit_events() if e["action"] == "auth.signin_locked"] == \
        ["auth.login_failed"]
    lock_clock[0] += 61
    assert second_step(api, challenge(api, ada), totp.code_for(two.secret, two.last_step)).status_code == 200


def test_another_users_mfa_token_with_my_code_is_refused(api, signup, otp_clock):
    alice, bob = signup("alice@example.com"), signup("bob@example.com")
    alices, _ = enable_two_factor(api, alice), enable_two_factor(api, bob)
    otp_clock[0] += 30
    refused = second_step(api, challenge(api, bob), alices.next_code())
    assert refused.status_code == 401
    failed = [e for e in audit_events() if e["action"] == "auth.login_failed"][-1]
    assert failed["object_id"] == bob.user_id and failed["details"]["reason"] == "wrong_code"
    assert second_step(api, challenge(api, alice), totp.code_for(alices.secret, alices.last_step)
                       ).status_code == 200, "alice's code was not used up by the refused attempt"


def test_a_recovery_code_signs_in_once(api, signup, otp_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    code = two.recovery_codes[3]
    first = second_step(api, challenge(api, ada), code.upper().replace("-", " "))
    assert first.status_code == 200
    again = second_step(api, challenge(api, ada), code)
    assert again.status_code == 401 and "recovery code" in again.json()["error"]["message"]
    assert api.get("/api/v1/auth/2fa", headers=ada.headers).json()["recovery_codes_left"] == 9
    used = [e for e in audit_events() if e["action"] == "auth.recovery_code_used"]
    assert len(used) == 1 and used[0]["details"] == {"recovery_codes_left": 9}
    login = [e for e in audit_events() if e["action"] == "auth.login"][-1]
    assert login["details"]["second_factor"] == "recovery_code"


def test_an_api_key_keeps_working_for_a_two_factor_user(api, signup, otp_clock):
    ada = signup("ada@example.com")
    key = api.post("/api/v1/api-keys", json={"name": "ci"}, headers=ada.headers).json()["key"]
    enable_two_factor(api, ada)
    assert api.get("/api/v1/workflows", headers={"X-API-Key": key}).status_code == 200
    refused = api.post("/api/v1/auth/2fa/disable", json={"password": ada.password, "code": "123456"},
                       headers={"X-API-Key": key})
    assert refused.status_code == 403 and "not an API key" in refused.json()["error"]["message"]


def test_turning_it_off_needs_the_password_and_a_code(api, signup, otp_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    otp_clock[0] += 30
    code = two.next_code()
    wrong_password = api.post("/api/v1/auth/2fa/disable", json={"password": "not it at all", "code": code},
                              headers=ada.headers)
    assert wrong_password.status_code == 403 and "password is wrong" in wrong_password.json()["error"]["message"]
    wrong_code = api.post("/api/v1/auth/2fa/disable", json={"password": ada.password, "code": "000000"},
                          headers=ada.headers)
    assert wrong_code.status_code == 403
    done = api.post("/api/v1/auth/2fa/disable", json={"password": ada.password, "code": code},
                    headers=ada.headers)
    assert done.status_code == 204
    assert "access_token" in api.post(LOGIN, json={"email": ada.email, "password": ada.password}).json()
    reasons = [e["details"]["reason"] for e in audit_events() if e["action"] == "user.2fa_check_failed"]
    assert reasons == ["wrong_password", "wrong_code"]
    assert "user.2fa_disabled" in [e["action"] for e in audit_events()]
    with session_scope() as session:
        assert session.scalars(select(RecoveryCode)).all() == []


def test_regenerated_recovery_codes_replace_the_old_ones(api, signup, otp_clock):
    ada = signup("ada@example.com")
    two = enable_two_factor(api, ada)
    otp_clock[0] += 30
    fresh = api.post("/api/v1/auth/2fa/recovery-codes", json={"code": two.next_code()}, headers=ada.headers)
    assert fresh.status_code == 200
    codes = fresh.json()["recovery_codes"]
    assert len(codes) == 10 and not set(codes) & set(two.recovery_codes)
    assert second_step(api, challenge(api, ada), two.recovery_codes[0]).status_code == 401
    assert second_step(api, challenge(api, ada), codes[0]).status_code == 200
    assert "user.2fa_recovery_codes_regenerated" in [e["action"] for e in audit_events()]
    refused = api.post("/api/v1/auth/2fa/recovery-codes", json={"code": "999999"}, headers=ada.headers)
    assert refused.status_code == 403


def test_an_instance_admin_resets_a_users_two_factor(api, signup, otp_clock):
    root, ada = signup("root@example.com"), signup("ada@example.com")
    with session_scope() as session:
        session.get(User, root.user_id).is_admin = True
    enable_two_factor(api, ada)
    assert api.delete(f"/api/v1/admin/users/{ada.user_id}/2fa", headers=ada.headers).status_code == 403
    listed = api.get("/api/v1/admin/users", params={"search": "ada@"}, headers=root.headers).json()["items"]
    assert listed[0]["two_factor_enabled"] is True
    assert api.delete(f"/api/v1/admin/users/{ada.user_id}/2fa", headers=root.headers).status_code == 204
    assert "access_token" in api.post(LOGIN, json={"email": ada.email, "password": ada.password}).json()
    again = api.delete(f"/api/v1/admin/users/{ada.user_id}/2fa", headers=root.headers)
    assert again.status_code == 409
    [reset] = [e for e in audit_events() if e["action"] == "admin.user_2fa_reset"]
    assert reset["actor_id"] == root.user_id and reset["object_id"] == ada.user_id and reset["team_id"] is None


def test_oauth_only_accounts_cannot_enrol(api, signup):
    from backend.users.service import create_user

    with session_scope() as session:
        user, _ = create_user(session, email="sso@example.com", password=None)
        user_id = user.id
    token, _ = tokens.issue_access_token(user_id, method="oauth")
    refused = api.post("/api/v1/auth/2fa/setup", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 400 and "identity provider" in refused.json()["error"]["message"]
