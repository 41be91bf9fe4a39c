"""The schemathesis run of /api/v1/openapi.json, shared by the SQLite and PostgreSQL fuzz tests.

Random ids only ever reach the "not found" path, so each path parameter (and X-Team-Id) is
either the generated value or a real one: the team, its second member, a workflow with two
versions, its failed execution, a variable, a credential, an API key, an invitation.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

from backend.app import create_app
from backend.auth.tokens import issue_access_token
from backend.db.session import make_engine
from backend.users.models import Membership, Role
from backend.users.service import create_user

# Loading the schema only reads the routes; the tests call a fresh app built after `configure`.
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app())
# The fixture's token is the credential: generated ones would only ever test the 401 path.
schema.config.generation.update(deterministic=True, with_security_parameters=False)
# No 5xx, and every answer as documented. Left out: the checks that a schema-valid request is
# accepted (business rules refuse many, e.g. an unknown credential type) and that a method the
# path lacks answers 405 (the /api/v1 catch-all answers a JSON 404).
schema.config.checks.update(included_check_names=[
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance"])

# Bounded for CI (a slow 2-core machine); the coverage phase's cases come on top of max_examples.
# No example database: every run generates the same cases.
SETTINGS = settings(max_examples=10, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck))
NO_RATE_LIMITS = {"SECURITY_RATE_LIMIT_ANONYMOUS_PER_MINUTE": "1000000",
                  "SECURITY_RATE_LIMIT_AUTHENTICATED_PER_MINUTE": "1000000"}
FAILING_WORKFLOW = {"nodes": [
    {"id": "start", "name": "Start", "type": "manual_trigger"},
    {"id": "stop", "name": "Stop", "type": "stop_and_error", "position": [1, 0],
     "parameters": {"message": "stopped {{ $json.id }}"}},
], "connections": [{"from": "start", "to": "stop"}]}


@dataclass(frozen=True)
class FuzzTeam:
    team_id: str
    owner_id: str
    member_id: str  # an editor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_access_token(self.owner_id)[0]}", "X-Team-Id": self.team_id}


def make_team(database_url: str) -> FuzzTeam:
    """An owner (with a password, hashed once per module: argon2 is slow on purpose) and an editor."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        owner, team = create_user(session, email=f"owner-{uuid.uuid4().hex[:8]}@example.com",
                                  password="a long enough password")
        member, _ = create_user(session, email=f"member-{uuid.uuid4().hex[:8]}@example.com", password=None)
        session.add(Membership(team_id=team.id, user_id=member.id, role=Role.EDITOR))
        session.commit()
        made = FuzzTeam(team.id, owner.id, member.id)
    engine.dispose()
    return made


class Seeds:
    """Path parameter name -> a real object's id, made on first use (one set per operation)."""

    def __init__(self, app, team: FuzzTeam) -> None:
        self.api, self.headers = TestClient(app), team.headers
        self._made: dict[str, str] = {"team_id": team.team_id, "user_id": team.member_id,
                                      "number": "1", "type_name": "set", "version": "1"}
        self._makers: dict[str, Callable[[], str]] = {
            "workflow_id": self._workflow, "execution_id": self._execution,
            "variable_id": lambda: self._post("variables", {"key": _unique("V")})["id"],
            "credential_id": lambda: self._post("credentials", {"name": _unique("Partner"), "type":
                                                                "api_key_header", "values": {"api_key": "k"}})["id"],
            "key_id": lambda: self._post("api-keys", {"name": "ci"})["id"],
            "invitation_id": lambda: self._post(f"teams/{team.team_id}/invitations",
                                                {"email": f"{_unique('new')}@example.com"})["id"],
        }

    def get(self, name: str, default: str) -> str:
        if name not in self._made and name in self._makers:
            self._made[name] = self._makers[name]()
        return self._made.get(name, default)

    def _post(self, path: str, body: dict) -> dict:
        response = self.api.post(f"/api/v1/{path}", json=body, headers=self.headers)
        assert response.status_code in (201, 202), response.text
        return response.json()

    def _workflow(self) -> str:
        workflow_id = self._post("workflows", {"name": "Fuzzed", "definition": FAILING_WORKFLOW})["id"]
        second = self.api.patch(f"/api/v1/workflows/{workflow_id}", json={"description": "v2"},
                                headers=self.headers)
        assert second.status_code == 200, second.text
        return workflow_id

    def _execution(self) -> str:
        return self._post(f"workflows/{self.get('workflow_id', '')}/run", {"input": {"id": 7}})["execution_id"]


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def call_and_check(case, app, seeds: Seeds) -> None:
    """Send the case as the team owner; fail on a 5xx or an answer the schema does not describe.

    Each path parameter, and X-Team-Id, is either the generated value or a real one: a
    checksum of the generated value decides, so a run stays reproducible (hypothesis'
    `given` would turn off schemathesis' coverage phase).
    """
    headers = dict(seeds.headers)
    if case.headers and not _heads(case.headers.get("X-Team-Id")):
        del headers["X-Team-Id"]  # the generated team id stands: another team answers 403
    if case.path_parameters:
        case.path_parameters = {name: seeds.get(name, value) if _heads(value) else value
                                for name, value in case.path_parameters.items()}
    case.call_and_validate(app=app, headers=headers)


def _heads(value: object) -> bool:
    return zlib.crc32(repr(value).encode()) % 2 == 0


# Requests that answered 500 before, kept because generation reaches them only now and then:
# (method, path under /api/v1, query, raw JSON body, the answer now).
TOO_BIG = str(10**30)
REGRESSIONS = [
    # integers past the column range: SQLite's driver overflows, PostgreSQL's int4/int8 too
    ("GET", "/workflows/{workflow_id}/versions/" + TOO_BIG, None, None, 422),
    ("POST", "/workflows/{workflow_id}/versions/2147483648/restore", None, None, 422),
    ("GET", "/workflows/{workflow_id}/diff", {"from_version": TOO_BIG}, None, 422),
    ("GET", "/workflows", {"offset": TOO_BIG}, None, 422),
    ("GET", "/workflows/{workflow_id}/versions", {"offset": TOO_BIG}, None, 422),
    ("GET", "/executions", {"offset": TOO_BIG}, None, 422),
    ("POST", "/workflows/{workflow_id}/run", None, json.dumps({"version": 10**30}), 422),
    # a time that leaves datetime's range once converted to UTC
    ("GET", "/executions", {"started_after": "0001-01-01T00:00:00+01:00"}, None, 422),
    ("GET", "/executions", {"started_before": "9999-12-31T23:59:59-01:00"}, None, 422),
    # what PostgreSQL text and JSONB cannot hold: NUL, lone surrogates, NaN and Infinity
    ("GET", "/workflows/a%00b", None, None, 422),
    ("GET", "/workflows", {"search": "a\x00b"}, None, 422),
    ("GET", "/executions", {"mode": "a\x00b"}, None, 422),
    ("POST", "/workflows", None, '{"name": "a\\u0000b"}', 422),
    ("POST", "/workflows", None, '{"name": "tagged", "tags": ["a\\u0000"]}', 422),
    ("POST", "/teams", None, '{"name": "a\\u0000b"}', 422),
    ("POST", "/variables", None, '{"key": "K", "value": "a\\u0000b"}', 422),
    ("POST", "/auth/login", None, '{"email": "a\\u0000@example.com", "password": "long enough"}', 422),
    ("POST", "/workflows/{workflow_id}/run", None, '{"input": {"a\\u0000": 1}}', 422),
    ("POST", "/workflows/{workflow_id}/run", None, '{"input": {"x": "\\ud800"}}', 422),
    ("POST", "/workflows/{workflow_id}/run", None, '{"input": {"x": NaN}}', 422),
    ("POST", "/workflows/{workflow_id}/run", None, '{"input": [{"x": -Infinity}]}', 422),
    ("POST", "/workflows/{workflow_id}/run", None, '{"input": {"x": 1e400}}', 422),
    # JSON nested a few hundred levels: parsed, then a RecursionError or pydantic's depth limit (500)
    ("POST", "/workflows", None, '{"name": "deep", "definition": {"nodes": [], "connections": [], '
     '"pin_data": {"A": [{"json": {"v": ' + "[" * 300 + "]" * 300 + "}}]}}}", 422),
    ("POST", "/workflows/{workflow_id}/diff", None,
     '{"from_version": 1, "definition": {"settings": {"v": ' + "[" * 300 + "]" * 300 + "}}}", 422),
    ("POST", "/expressions/preview", None,
     '{"expression": "{{ $json }}", "items": [{"json": {"v": ' + "[" * 300 + "]" * 300 + "}}]}", 422),
    ("POST", "/expressions/preview", None, json.dumps({"expression": '{{ parse_json("[" * 900 + "]" * 900) }}'}),
     200),
    # names derived from long input overflowed String(200) columns on PostgreSQL
    ("POST", "/auth/signup", None, json.dumps({"email": "named@example.com", "password": "long enough",
                                               "name": "n" * 200}), 201),
    ("POST", "/auth/signup", None, json.dumps({"email": "e" * 250 + "@example.com", "password": "long enough"}),
     201),
]


REGRESSION_IDS = [" ".join([method, path, *([f"?{query}"] if query else []), *([body[:50]] if body else [])])
                  for method, path, query, body, _ in REGRESSIONS]


def send(seeds: Seeds, method: str, path: str, query: dict | None, body: str | None):
    """One of REGRESSIONS, as the team owner."""
    path = path.format(workflow_id=seeds.get("workflow_id", "")) if "{workflow_id}" in path else path
    headers = {**seeds.headers, "Content-Type": "application/json"}
    return seeds.api.request(method, f"/api/v1{path}", params=query, content=body, headers=headers)
