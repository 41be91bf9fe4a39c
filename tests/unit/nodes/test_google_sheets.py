"""The Google Sheets node against tests/fakes/google_sheets: a local server answering as the Sheets API v4 and
Google's OAuth token endpoint document it (Google cannot be reached from here, so it is mocked, with its real
shapes). The service account's RSA key is made for the test; the fake checks the JWT's signature with it."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backend.credentials.types.base import TestResult
from backend.credentials.types.google_sheets import GoogleSheets as SheetsCredential
from backend.credentials.types.google_sheets import GoogleSheetsFields
from nodes.builtin.google_sheets import GoogleSheets
from nodes.sdk import NodeUserError
from nodes.sdk.testing import run_node
from tests.fakes.google_sheets.server import API_KEY, SPREADSHEET, FakeSheets

LOOPBACK = {"http_allow_list": ["127.0.0.1"]}
EMAIL = "linkflow@project.iam.gserviceaccount.com"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE = _KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
PUBLIC = _KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture
def sheets():
    with FakeSheets(public_key=PUBLIC, client_email=EMAIL) as server:
        server.sheets["Sheet1"] = [["name", "email", "age"], ["Ada", "ada@example.com", 36],
                                   ["Alan", "alan@example.com"]]
        yield server


def _fields(sheets, **values) -> GoogleSheetsFields:
    key = json.dumps({"type": "service_account", "client_email": EMAIL, "private_key": PRIVATE,
                      "token_uri": sheets.token_url})
    return GoogleSheetsFields(**{"service_account_key": key, "api_base_url": sheets.url, **values})


async def _run(sheets, params, items=None, **credential):
    login = SheetsCredential().inject(_fields(sheets, **credential))
    out = await run_node(GoogleSheets, items or [{"json": {}}],
                         params={"spreadsheet_id": SPREADSHEET, **params},
                         credentials={"google_sheets": login}, settings=LOOPBACK)
    return [o["json"] for o in out["main"]]


async def test_read_append_and_update_with_a_service_account(sheets):
    rows = await _run(sheets, {"operation": "read"})
    assert rows == [{"name": "Ada", "email": "ada@example.com", "age": 36, "row_number": 2},
                    {"name": "Alan", "email": "alan@example.com", "age": "", "row_number": 3}]
    assert (sheets.requests[0].method, sheets.requests[0].path) == ("POST", "/token")  # the JWT exchanged for a token first
    appended = await _run(sheets, {"operation": "append"},
                          items=[{"json": {"name": "Grace", "age": "85", "extra": "dropped"}},
                                 {"json": {"email": "linus@example.com", "name": "Linus"}}])
    assert [a["updates"]["updatedRange"] for a in appended] == ["Sheet1!A4:C4", "Sheet1!A5:C5"]
    assert sheets.sheets["Sheet1"][3:] == [["Grace", "", 85], ["Linus", "linus@example.com", ""]]
    await _run(sheets, {"operation": "append", "fields_from_input": False, "fields": {"name": "Edsger", "age": 72}})
    assert sheets.sheets["Sheet1"][5] == ["Edsger", "", 72]
    header_reads = [c for c in sheets.requests if c.path.endswith("/values/Sheet1%211%3A1")]
    assert len(header_reads) == 2  # the header row is read once per run
    updated = await _run(sheets, {"operation": "update", "range": "Sheet1!C3", "values": [[37]],
                                  "value_input_option": "RAW"})
    assert updated[0]["updatedRange"] == "Sheet1!C3:C3" and sheets.sheets["Sheet1"][2][2] == 37
    raw = await _run(sheets, {"operation": "read", "range": "Sheet1!A1:B2", "header_row": False})
    assert raw == [{"values": ["name", "email"]}, {"values": ["Ada", "ada@example.com"]}]


async def test_an_api_key_reads_and_google_refuses_it_a_write(sheets):
    rows = await _run(sheets, {"operation": "read", "range": "Sheet1!A1:A3"}, auth_type="api_key",
                      api_key=API_KEY, service_account_key="")
    assert rows == [{"name": "Ada", "row_number": 2}, {"name": "Alan", "row_number": 3}] and sheets.requests[0].query["key"] == API_KEY
    with pytest.raises(NodeUserError, match=r"\(401\): UNAUTHENTICATED: API keys are not supported"):
        await _run(sheets, {"operation": "update", "range": "Sheet1!A1", "values": ["x"]}, auth_type="api_key",
                   api_key=API_KEY, service_account_key="")


async def test_a_429_is_waited_out_as_retry_after_says(sheets):
    sheets.sheets["Busy"] = [["a"], [1]]
    started = time.monotonic()
    assert await _run(sheets, {"operation": "read", "range": "Busy"}) == [{"a": 1, "row_number": 2}]
    assert time.monotonic() - started >= 1.0
    assert [c.path for c in sheets.requests if c.method == "GET"] == ["/v4/spreadsheets/" + SPREADSHEET + "/values/Busy"] * 2


async def test_googles_errors_are_named(sheets):
    with pytest.raises(NodeUserError, match=r"\(400\): INVALID_ARGUMENT: Unable to parse range: Sheet9!A1"):
        await _run(sheets, {"operation": "read", "range": "Sheet9!A1"})
    with pytest.raises(NodeUserError, match=r"\(404\): NOT_FOUND: Requested entity was not found"):
        await _run(sheets, {"operation": "read", "spreadsheet_id": "https://docs.google.com/spreadsheets/d/"
                                                                   "nope0123456789/edit#gid=0"})
    with pytest.raises(NodeUserError, match="API key not valid"):
        await _run(sheets, {"operation": "read"}, auth_type="api_key", api_key="AIzaWrong", service_account_key="")
    sheets.sheets["Empty"] = []
    with pytest.raises(NodeUserError, match="the sheet 'Empty' has no header row"):
        await _run(sheets, {"operation": "append", "range": "Empty"})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = json.dumps({"client_email": EMAIL, "private_key": other, "token_uri": sheets.token_url})
    with pytest.raises(NodeUserError, match=r"token endpoint refused the service account \(400\): invalid_grant"):
        await _run(sheets, {"operation": "read"}, service_account_key=key)


async def test_incomplete_credentials_are_refused():
    with pytest.raises(ValueError, match="lacks client_email, private_key, token_uri"):
        GoogleSheetsFields(service_account_key="{}")
    with pytest.raises(ValueError, match="not JSON"):
        GoogleSheetsFields(service_account_key="nope")
    with pytest.raises(ValueError, match="needs the API key"):
        GoogleSheetsFields(auth_type="api_key")
    from backend.credentials.types.base import CredentialProblem

    broken = GoogleSheetsFields(service_account_key=json.dumps(
        {"client_email": EMAIL, "private_key": "-----BEGIN PRIVATE KEY-----\nnope", "token_uri": "https://x/t"}))
    with pytest.raises(CredentialProblem, match="private key cannot sign"):
        SheetsCredential().inject(broken)
    result = await SheetsCredential().test(broken)
    assert result.ok is False and "private key cannot sign" in result.message


async def test_the_credential_test(sheets, monkeypatch):
    from backend.settings import get_settings

    monkeypatch.setenv("LINKFLOW_HTTP_ALLOW_LIST", "127.0.0.1")
    get_settings.cache_clear()
    credential = SheetsCredential()
    assert await credential.test(_fields(sheets)) == TestResult(True, f"Google issued an access token to {EMAIL}")
    assert await credential.test(_fields(sheets, auth_type="api_key", api_key=API_KEY)) == \
        TestResult(True, "Google accepted the API key")
    bad = await credential.test(_fields(sheets, auth_type="api_key", api_key="AIzaWrong"))
    assert bad.ok is False and "API key not valid" in bad.message and "AIzaWrong" not in bad.message
    get_settings.cache_clear()
