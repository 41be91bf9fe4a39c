"""RFC 6238 codes, the skew window, replay bounds, the QR code and recovery codes."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from backend.auth import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238 appendix B, SHA1


@pytest.mark.parametrize(("unix_time", "code"), [
    (59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924"),
    (2000000000, "279037"), (20000000000, "353130")])
def test_codes_match_the_rfc_6238_test_vectors(unix_time, code):
    # The RFC lists 8 digits; a 6-digit code is the same number modulo 10^6.
    assert totp.code_for(RFC_SECRET, unix_time // 30) == code


@pytest.fixture
def at(monkeypatch):
    def set_time(unix_time: float) -> None:
        monkeypatch.setattr(totp, "clock", lambda: unix_time)
    return set_time


def test_a_code_of_the_previous_current_or_next_step_is_accepted_and_no_other(at):
    at(1111111111)  # step 37037037
    step = 1111111111 // 30
    for offset in (-1, 0, 1):
        assert totp.matching_step(RFC_SECRET, totp.code_for(RFC_SECRET, step + offset), after_step=0) == step + offset
    for offset in (-3, -2, 2, 3):
        assert totp.matching_step(RFC_SECRET, totp.code_for(RFC_SECRET, step + offset), after_step=0) is None


def test_steps_up_to_the_last_used_one_are_not_accepted_again(at):
    at(1111111111)
    step = 1111111111 // 30
    current = totp.code_for(RFC_SECRET, step)
    assert totp.matching_step(RFC_SECRET, current, after_step=step - 1) == step
    assert totp.matching_step(RFC_SECRET, current, after_step=step) is None
    assert totp.matching_step(RFC_SECRET, totp.code_for(RFC_SECRET, step + 1), after_step=step) == step + 1


def test_only_six_digits_count_as_a_code(at):
    at(59)
    assert totp.matching_step(RFC_SECRET, "287 082", after_step=0) == 1, "spaces as apps group them"
    for text in ("28708", "2870822", "abcdef", "", "94287082"):
        assert totp.matching_step(RFC_SECRET, text, after_step=0) is None


def test_the_provisioning_uri_names_the_issuer_the_account_and_the_secret():
    uri = urlparse(totp.provisioning_uri(RFC_SECRET, "ada@example.com"))
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == "/LinkFlow:ada@example.com"
    assert query["secret"] == [RFC_SECRET] and query["issuer"] == ["LinkFlow"]


def test_the_qr_code_is_an_svg_data_uri():
    image = totp.qr_code_svg("otpauth://totp/LinkFlow:a?secret=" + RFC_SECRET)
    assert image.startswith("data:image/svg+xml")
    assert "svg" in unquote(image) and "path" in unquote(image)


def test_recovery_codes_are_ten_distinct_and_typed_loosely():
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 == len(set(codes))
    assert all(len(c) == 19 and c.count("-") == 3 for c in codes)
    code = codes[0]
    assert totp.recovery_code_hash(code.upper()) == totp.recovery_code_hash(code.replace("-", " ")) \
        == totp.recovery_code_hash(code)
    assert totp.recovery_code_hash(code) != totp.recovery_code_hash(codes[1])


def test_new_secrets_are_160_bit_base32():
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20
    assert secret != totp.new_secret()
