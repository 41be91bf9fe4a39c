"""The credential form built from the real credential types' schemas, and what it sends."""

import pytest

from backend.credentials.registry import default_registry
from ui.state.credential_form import KEEP, form_fields, missing_required, values_to_send


def _entry(type_name: str) -> dict:
    return next(t for t in default_registry().catalog() if t["type"] == type_name)


def _by_name(fields):
    return {f.name: f for f in fields}


def test_a_new_form_has_every_field_but_managed_ones_with_kinds_and_defaults():
    fields = _by_name(form_fields(_entry("oauth2")))
    assert set(fields) == {"grant_type", "client_id", "client_secret", "authorize_url", "token_url", "scope",
                           "client_authentication"}  # tokens are LinkFlow's to fill in
    assert fields["client_secret"].kind == "secret" and not fields["client_secret"].required
    assert fields["grant_type"].kind == "enum" and fields["grant_type"].value == "authorization_code"
    assert fields["grant_type"].options == ["authorization_code", "client_credentials"]
    assert fields["client_id"].required and fields["client_id"].label == "Client ID"
    redis = _by_name(form_fields(_entry("redis")))
    assert (redis["port"].kind, redis["port"].value) == ("integer", "6379")
    assert (redis["tls"].kind, redis["tls"].value, redis["tls"].options) == ("boolean", "false", ["true", "false"])


def test_an_edit_form_starts_empty_and_says_which_fields_hold_a_value():
    fields = _by_name(form_fields(_entry("api_key_header"), ["api_key", "header_name"]))
    assert all(f.value in ("", KEEP) for f in fields.values())
    assert fields["api_key"].saved and "leave blank to keep" in fields["api_key"].placeholder
    assert not fields["test_url"].saved and fields["test_url"].placeholder == "Not set"
    assert not any(f.required for f in fields.values())  # blank keeps, so nothing is required
    smtp = _by_name(form_fields(_entry("smtp"), ["host"]))
    assert smtp["security"].options[0] == KEEP and smtp["security"].value == KEEP


def test_values_to_send_types_values_and_leaves_blanks_out():
    fields = _by_name(form_fields(_entry("redis")))
    fields["host"].value, fields["port"].value, fields["tls"].value = " cache.local ", "6380", "true"
    fields["password"].value = " pass with spaces "
    assert values_to_send(list(fields.values())) == {
        "host": "cache.local", "port": 6380, "database": 0, "tls": True, "password": " pass with spaces "}
    edit = form_fields(_entry("redis"), ["host", "password"])
    assert values_to_send(edit) == {}  # nothing typed: nothing changes
    fields["port"].value = "six"
    with pytest.raises(ValueError, match="Port must be a whole number"):
        values_to_send(list(fields.values()))


def test_missing_required_names_the_empty_required_fields():
    fields = form_fields(_entry("http_basic"))
    assert missing_required(fields) == ["Username", "Password"]
