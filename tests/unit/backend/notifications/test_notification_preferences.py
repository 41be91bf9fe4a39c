"""/api/v1/users/me/notifications: email_on_failure, on until turned off, per user."""

from __future__ import annotations

PREFS = "/api/v1/users/me/notifications"


def test_email_on_failure_is_on_by_default_and_persists_when_turned_off(api, signup):
    ada, bob = signup("ada@example.com"), signup("bob@example.com")
    assert api.get(PREFS, headers=ada.headers).json() == {"email_on_failure": True}
    off = api.put(PREFS, json={"email_on_failure": False}, headers=ada.headers)
    assert off.status_code == 200 and off.json() == {"email_on_failure": False}
    assert api.get(PREFS, headers=ada.headers).json() == {"email_on_failure": False}
    assert api.get(PREFS, headers=bob.headers).json() == {"email_on_failure": True}, "one user's choice only"
    assert api.put(PREFS, json={"email_on_failure": True}, headers=ada.headers).status_code == 200
    assert api.get(PREFS, headers=ada.headers).json() == {"email_on_failure": True}


def test_bad_input_is_refused_and_changes_nothing(api, signup):
    ada = signup("ada@example.com")
    api.put(PREFS, json={"email_on_failure": False}, headers=ada.headers)
    for body in ({}, {"email_on_failure": "maybe"}, {"email_on_failure": False, "sms": True}):
        response = api.put(PREFS, json=body, headers=ada.headers)
        assert response.status_code == 422, body
    assert api.get(PREFS, headers=ada.headers).json() == {"email_on_failure": False}


def test_preferences_need_a_sign_in(api):
    assert api.get(PREFS).status_code == 401
    assert api.put(PREFS, json={"email_on_failure": False}).status_code == 401
