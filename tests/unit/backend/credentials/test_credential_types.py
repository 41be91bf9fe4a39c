"""Credential types: declarations checked at definition, injection shapes, and real test() calls.

Third-party APIs (Slack, Stripe, S3) cannot be reached from here: their tests run against
small local HTTP servers that imitate the one endpoint each test() calls.
"""

import socket

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import Field, SecretStr
from vault_testkit import Answer

from backend.credentials.registry import CREDENTIAL_TYPES, CredentialTypeRegistry, default_registry
from backend.credentials.types import CredentialFields, CredentialType, TestResult, secret
from backend.errors import UserError
from nodes.builtin._http_auth import injection_from

# The real test() calls below reach servers on 127.0.0.1, which the address policy refuses
# unless allowed; test_credential_address_policy.py covers the refusals.
pytestmark = pytest.mark.usefixtures("allow_loopback")

# ---- declarations ------------------------------------------------------------------------------------------


class _Fields(CredentialFields):
    token: SecretStr = secret()


def _declare(**attrs) -> type:
    async def test(self, values):
        return TestResult(True, "")

    body = {"type": "sample", "display_name": "Sample", "Fields": _Fields,
            "inject": lambda self, values: {}, "test": test, **attrs}
    return type("Sample", (CredentialType,), {k: v for k, v in body.items() if v is not None})


def test_a_complete_declaration_is_accepted():
    assert _declare().type == "sample"


@pytest.mark.parametrize(("attrs", "message"), [
    ({"colour": "red"}, "unknown attribute(s) ['colour']"),
    ({"type": "Bad Name"}, "set `type` to a lower_snake_case name"),
    ({"display_name": None}, "set `display_name`"),
    ({"Fields": dict}, "`Fields` must subclass backend.credentials.types.CredentialFields"),
    ({"inject": None}, "define `def inject(self, values) -> dict`"),
    ({"test": lambda self, values: None}, "define `async def test(self, values) -> TestResult`"),
])
def test_a_wrong_declaration_fails_at_class_definition_with_how_to_fix_it(attrs, message):
    with pytest.raises(TypeError, match="credential type .*Sample: ") as caught:
        _declare(**attrs)
    assert message in str(caught.value)


def test_an_async_inject_is_refused():
    async def inject(self, values):
        return {}

    with pytest.raises(TypeError, match="a plain function, not async"):
        _declare(inject=inject)


def test_secret_fields_must_be_typed_secretstr_and_declared_secret():
    class Plain(CredentialFields):
        password: str = secret()

    class Undeclared(CredentialFields):
        password: SecretStr = Field()

    with pytest.raises(TypeError, match=r"field 'password' is declared secret\(\) but typed"):
        _declare(Fields=Plain)
    with pytest.raises(TypeError, match=r"field 'password' is a SecretStr but not declared with secret\(\)"):
        _declare(Fields=Undeclared)


def test_the_registry_refuses_duplicate_names_and_names_the_known_types():
    first, second = _declare(), _declare()
    registry = CredentialTypeRegistry([first])
    with pytest.raises(ValueError, match="credential type 'sample' is declared twice"):
        registry.add(second)
    with pytest.raises(TypeError, match="not a CredentialType subclass"):
        registry.add(dict)
    with pytest.raises(UserError, match="unknown credential type 'nope'; known types: sample"):
        registry.get("nope")


def test_the_catalog_has_every_builtin_with_its_secret_fields_flagged():
    catalog = {entry["type"]: entry for entry in default_registry().catalog()}
    assert set(catalog) == {"api_key_header", "http_basic", "bearer_token", "oauth2", "smtp", "postgres",
                            "redis", "aws_s3", "slack", "stripe", "kafka", "mysql", "openai",
                            "github", "gitlab", "jira", "notion", "airtable", "google_sheets",
                            "telegram", "discord_webhook", "discord_bot", "twilio", "sendgrid", "hubspot",
                            "ssh",
                            "imap",
                            "rabbitmq"}
    assert len(CREDENTIAL_TYPES) == len(catalog)
    for entry in catalog.values():
        properties = entry["fields_schema"]["properties"]
        assert entry["secret_fields"], f"{entry['type']} has no secret field"
        for name in entry["secret_fields"]:
            assert properties[name]["secret"] is True and properties[name]["writeOnly"] is True
    oauth = catalog["oauth2"]["fields_schema"]["properties"]
    assert oauth["access_token"]["managed"] is True and "managed" not in oauth["client_secret"]


# ---- what the HTTP Request node receives ------------------------------------------------------------------

@pytest.mark.parametrize(("type_name", "values", "header"), [
    ("api_key_header", {"header_name": "X-Key", "api_key": "k-123"}, ("X-Key", "k-123")),
    ("http_basic", {"username": "ada", "password": "pw"}, ("Authorization", "Basic YWRhOnB3")),
    ("bearer_token", {"token": "t-1"}, ("Authorization", "Bearer t-1")),
    ("oauth2", {"client_id": "c", "token_url": "https://x/token", "authorize_url": "https://x/auth",
                "access_token": "at-1"}, ("Authorization", "Bearer at-1")),
    ("slack", {"bot_token": "xoxb-1"}, ("Authorization", "Bearer xoxb-1")),
    ("stripe", {"secret_key": "sk_test_1"}, ("Authorization", "Bearer sk_test_1")),
])
def test_http_types_inject_what_the_http_request_node_applies(type_name, values, header):
    ctype = default_registry().get(type_name)
    injection = injection_from(ctype.inject(ctype.Fields.model_validate(values)))
    assert injection.headers == dict([header])


def test_secret_values_never_show_in_a_repr():
    ctype = default_registry().get("http_basic")
    assert "pw-hidden" not in repr(ctype.Fields.model_validate({"username": "ada", "password": "pw-hidden"}))


# ---- test() against real local servers --------------------------------------------------------------------

def _needs(header: str, value: str):
    def route(request):
        return Answer(200, {"ok": 1}) if request.headers.get(header) == value else Answer(401, {"error": "no"})
    return route


@pytest.mark.parametrize(("type_name", "values", "header", "expected"), [
    ("api_key_header", {"header_name": "X-Key", "api_key": "right-key"}, "X-Key", "right-key"),
    ("http_basic", {"username": "ada", "password": "pw"}, "Authorization", "Basic YWRhOnB3"),
    ("bearer_token", {"token": "right-token"}, "Authorization", "Bearer right-token"),
])
async def test_generic_http_types_call_their_test_url(http_server, type_name, values, header, expected):
    server = http_server(_needs(header, expected))
    ctype = default_registry().get(type_name)
    good = await ctype.test(ctype.Fields.model_validate({**values, "test_url": server.url + "/me?x=1"}))
    assert good == TestResult(True, f"{server.url}/me accepted the credential (200 OK)")
    wrong = {k: ("wrong" if ctype.Fields.model_fields[k].json_schema_extra else v) for k, v in values.items()}
    bad = await ctype.test(ctype.Fields.model_validate({**wrong, "test_url": server.url + "/me"}))
    assert bad.ok is False and "rejected the credential (401 Unauthorized)" in bad.message


async def test_without_a_test_url_the_test_says_what_to_set():
    ctype = default_registry().get("bearer_token")
    result = await ctype.test(ctype.Fields.model_validate({"token": "t"}))
    assert result.ok is False and "no test URL is set" in result.message


async def test_an_unreachable_server_is_a_failed_test_not_an_exception():
    ctype = default_registry().get("bearer_token")
    result = await ctype.test(ctype.Fields.model_validate({"token": "t", "test_url": f"http://127.0.0.1:{_free_port()}/"}))
    assert result.ok is False and result.message.startswith("could not reach http://127.0.0.1:")


def _slack_auth_test(request):
    # Imitates Slack's auth.test method (https://api.slack.com/methods/auth.test): Slack itself is not reachable.
    assert request.method == "POST" and request.path == "/api/auth.test"
    if request.headers.get("Authorization") == "Bearer xoxb-good":
        return Answer(200, {"ok": True, "team": "Acme", "user": "linkflow-bot"})
    return Answer(200, {"ok": False, "error": "invalid_auth"})


async def test_slack_test_calls_auth_test_on_an_imitation_of_slack(http_server):
    server = http_server(_slack_auth_test)
    slack = default_registry().get("slack")
    good = await slack.test(slack.Fields(bot_token="xoxb-good", api_base_url=server.url + "/api"))
    bad = await slack.test(slack.Fields(bot_token="xoxb-bad", api_base_url=server.url + "/api/"))
    assert good == TestResult(True, "authenticated as linkflow-bot in team Acme")
    assert bad == TestResult(False, "Slack refused the token: invalid_auth")
    assert slack.Fields(bot_token="x").api_base_url == "https://slack.com/api"


def _stripe_balance(request):
    # Imitates Stripe's GET /v1/balance (https://docs.stripe.com/api/balance): Stripe itself is not reachable.
    assert request.path == "/v1/balance"
    if request.headers.get("Authorization") == "Bearer sk_test_good":
        return Answer(200, {"object": "balance", "livemode": False, "available": []})
    return Answer(401, {"error": {"type": "invalid_request_error",
                                  "message": "Invalid API Key provided: sk_test_****_bad"}})


async def test_stripe_test_reads_the_balance_from_an_imitation_of_stripe(http_server):
    server = http_server(_stripe_balance)
    stripe = default_registry().get("stripe")
    good = await stripe.test(stripe.Fields(secret_key="sk_test_good", api_base_url=server.url))
    bad = await stripe.test(stripe.Fields(secret_key="sk_test_bad", api_base_url=server.url))
    assert good == TestResult(True, "Stripe accepted the key (test mode)")
    assert bad == TestResult(False, f"{server.url}/v1/balance answered 401 (invalid_request_error); check the key")


_BUCKETS = """<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Owner><ID>1</ID><DisplayName>me</DisplayName></Owner>
<Buckets><Bucket><Name>reports</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets>
</ListAllMyBucketsResult>"""
_DENIED = """<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>InvalidAccessKeyId</Code><Message>The key does not exist.</Message></Error>"""


def _s3(request):
    # Imitates S3's ListBuckets and HeadBucket (an S3-compatible endpoint); AWS itself is not reachable.
    if "Credential=AKIDGOOD/" not in request.headers.get("Authorization", ""):
        return Answer(403, _DENIED, {"Content-Type": "application/xml"})
    if request.method == "HEAD":
        return Answer(200 if request.path.strip("/") == "reports" else 404, b"")
    return Answer(200, _BUCKETS, {"Content-Type": "application/xml"})


@pytest.mark.parametrize(("key_id", "bucket", "expected"), [
    ("AKIDGOOD", "", TestResult(True, "the keys are valid (1 bucket(s) visible)")),
    ("AKIDGOOD", "reports", TestResult(True, "the keys can reach bucket 'reports'")),
    ("AKIDGOOD", "missing", TestResult(False, "S3 refused the request: 404 (404)")),
    ("AKIDBAD", "", TestResult(False, "S3 refused the request: InvalidAccessKeyId (403)")),
])
async def test_s3_test_lists_or_heads_buckets_on_an_s3_compatible_endpoint(http_server, key_id, bucket, expected):
    server = http_server(_s3)
    s3 = default_registry().get("aws_s3")
    values = s3.Fields(access_key_id=key_id, secret_access_key="wJalr-secret", endpoint_url=server.url,
                       bucket=bucket)
    assert await s3.test(values) == expected


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Sink:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        return "250 OK"


@pytest.fixture
def smtp_server():
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"mailer", b"mail-pass")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 235 or 535

    controller = Controller(_Sink(), hostname="127.0.0.1", port=_free_port(), authenticator=authenticator,
                            auth_require_tls=False)
    controller.start()
    yield controller
    controller.stop()


@pytest.mark.parametrize(("username", "password", "expected_ok", "expected"), [
    ("", None, True, "connected to 127.0.0.1:{port}"),
    ("mailer", "mail-pass", True, "connected to 127.0.0.1:{port} and logged in as mailer"),
    ("mailer", "wrong-pass", False, "127.0.0.1:{port} refused the login for mailer (535)"),
])
async def test_smtp_test_connects_says_ehlo_and_logs_in(smtp_server, username, password, expected_ok, expected):
    smtp = default_registry().get("smtp")
    values = smtp.Fields(host="127.0.0.1", port=smtp_server.port, security="none", username=username,
                         password=password)
    result = await smtp.test(values)
    assert result == TestResult(expected_ok, expected.format(port=smtp_server.port))


async def test_smtp_starttls_against_a_server_without_it_says_so(smtp_server):
    smtp = default_registry().get("smtp")
    result = await smtp.test(smtp.Fields(host="127.0.0.1", port=smtp_server.port, security="starttls"))
    assert result.ok is False and "does not offer STARTTLS or AUTH" in result.message


@pytest.mark.parametrize("type_name", ["postgres", "redis", "smtp"])
async def test_server_types_report_a_closed_port_without_the_password(type_name):
    ctype = default_registry().get(type_name)
    values = {"host": "127.0.0.1", "port": _free_port(), "password": "pw-never-shown"}
    if type_name == "postgres":
        values |= {"database": "app", "user": "app"}
    result = await ctype.test(ctype.Fields.model_validate(values))
    assert result.ok is False and f"127.0.0.1:{values['port']}" in result.message
    assert "pw-never-shown" not in result.message
