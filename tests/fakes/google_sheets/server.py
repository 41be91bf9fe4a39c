"""A stand-in for the Google Sheets API v4 and Google's OAuth token endpoint on 127.0.0.1, for tests (Google
cannot be reached from here).

Follows https://developers.google.com/sheets/api/reference/rest (v4: ``spreadsheets.values.get``,
``.append``, ``.update``, ``GET /v4/spreadsheets/{id}``) and the service-account flow of
https://developers.google.com/identity/protocols/oauth2/service-account#httprest (``POST /token`` with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an RS256 ``assertion`` signed by the account's
key; the fake checks the signature with the public key it is given). Callers authenticate with ``?key=API_KEY``
(reads only, as Google allows for public sheets) or ``Authorization: Bearer`` an issued token. Errors are
``{"error": {"code", "message", "status"}}`` (400 ``INVALID_ARGUMENT`` "API key not valid..." or "Unable to
parse range", 401 ``UNAUTHENTICATED``, 403 ``PERMISSION_DENIED``, 404 ``NOT_FOUND``). Sheet ``Busy`` answers
each (method, path) once with 429 ``RESOURCE_EXHAUSTED`` and ``Retry-After: 1``. Ranges: ``Sheet``,
``Sheet!A1:C9``, ``Sheet!A:C``.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote

import jwt

from tests.fakes.http_fake import FakeApi, Request

API_KEY = "AIzaTestKey0123456789"
SPREADSHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
_RANGE = re.compile(r"^(?:'?([^'!]+)'?)(?:!([A-Z]+)?(\d+)?(?::([A-Z]+)?(\d+)?)?)?$")


def _col(letters: str | None, default: int) -> int:
    if not letters:
        return default
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def _letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _error(code: int, status: str, message: str):
    return code, {}, {"error": {"code": code, "message": message, "status": status}}


class FakeSheets(FakeApi):
    def __init__(self, public_key: str | None = None, client_email: str = "") -> None:
        super().__init__()
        self.public_key, self.client_email = public_key, client_email
        self.tokens: set[str] = set()
        self.sheets: dict[str, list[list]] = {"Sheet1": [], "Busy": []}

    @property
    def url(self) -> str:
        return self.origin + "/v4"

    @property
    def token_url(self) -> str:
        return self.origin + "/token"

    def answer(self, request: Request):
        method, path, query, body = request.method, request.path, request.query, request.data()
        if path == "/token":
            return self._token(body)
        bearer = (request.headers.get("authorization") or "").removeprefix("Bearer ")
        if query.get("key") is not None and query["key"] != API_KEY:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if query.get("key") is None and bearer not in self.tokens:
            return _error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected "
                                                  "OAuth 2 access token, login cookie or other valid "
                                                  "authentication credential.")
        match = re.fullmatch(r"/v4/spreadsheets/([^/]+)(?:/values/([^/:]+)(:append)?)?", path)
        if not match or match.group(1) != SPREADSHEET:
            return _error(404, "NOT_FOUND", "Requested entity was not found.")
        if match.group(2) is None:
            return 200, {}, {"spreadsheetId": SPREADSHEET, "properties": {"title": "Test sheet"},
                             "sheets": [{"properties": {"title": t}} for t in self.sheets]}
        if method != "GET" and query.get("key") is not None:
            return _error(401, "UNAUTHENTICATED", "API keys are not supported by this API. Expected OAuth2 "
                                                  "access token or other authentication credentials that assert a "
                                                  "principal.")
        text = unquote(match.group(2))
        parsed = _RANGE.match(text)
        if not parsed or parsed.group(1) not in self.sheets:
            return _error(400, "INVALID_ARGUMENT", f"Unable to parse range: {text}")
        name = parsed.group(1)
        if name == "Busy" and self.once(method, path):
            return 429, {"Retry-After": "1"}, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                                                         "message": "Quota exceeded for quota metric 'Read "
                                                                    "requests' of service 'sheets.googleapis.com'"}}
        rows = self.sheets[name]
        c1, r1 = _col(parsed.group(2), 0), int(parsed.group(3) or 1) - 1
        c2 = _col(parsed.group(4), 10_000) if parsed.group(4) or parsed.group(5) else \
            (c1 if parsed.group(2) and parsed.group(3) else 10_000)
        r2 = int(parsed.group(5)) - 1 if parsed.group(5) else (r1 if parsed.group(3) and not parsed.group(4)
                                                               else 1_000_000)
        if method == "GET":
            values = [row[c1:c2 + 1] for row in rows[r1:r2 + 1]]
            while values and not any(v not in ("", None) for v in values[-1]):
                values.pop()
            answer = {"range": text, "majorDimension": "ROWS"}
            return 200, {}, {**answer, "values": values} if values else answer
        values = (body or {}).get("values") or []
        if query.get("valueInputOption") not in ("RAW", "USER_ENTERED"):
            return _error(400, "INVALID_ARGUMENT", "'valueInputOption' is required but not specified")
        start = len(rows) if match.group(3) else r1
        while len(rows) < start + len(values):
            rows.append([])
        for i, row in enumerate(values):
            target = rows[start + i]
            while len(target) < c1 + len(row):
                target.append("")
            target[c1:c1 + len(row)] = [self._entered(v, query["valueInputOption"]) for v in row]
        width = max((len(r) for r in values), default=0)
        updated = {"spreadsheetId": SPREADSHEET,
                   "updatedRange": f"{name}!{_letters(c1)}{start + 1}:{_letters(c1 + max(width, 1) - 1)}"
                                   f"{start + max(len(values), 1)}",
                   "updatedRows": len(values), "updatedColumns": width,
                   "updatedCells": sum(len(r) for r in values)}
        if match.group(3):
            return 200, {}, {"spreadsheetId": SPREADSHEET, "tableRange": f"{name}!A1:{_letters(width - 1)}{start}"
                             if start else None, "updates": updated}
        return 200, {}, updated

    @staticmethod
    def _entered(value, option: str):
        if option == "USER_ENTERED" and isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value) if "." in value else int(value)
        return value

    def _token(self, body):
        form = body if isinstance(body, dict) else {}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return 400, {}, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: "}
        try:
            claims = jwt.decode(form.get("assertion", ""), self.public_key, algorithms=["RS256"],
                                audience=self.token_url)
        except jwt.PyJWTError as exc:
            return 400, {}, {"error": "invalid_grant", "error_description": f"Invalid JWT Signature. ({exc})"}
        if claims.get("iss") != self.client_email or "spreadsheets" not in claims.get("scope", ""):
            return 400, {}, {"error": "invalid_grant", "error_description": "Invalid email or User ID"}
        token = "ya29." + uuid.uuid4().hex
        self.tokens.add(token)
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
