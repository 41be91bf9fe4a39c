"""The Webhook trigger: an HTTP request to ``/webhook/<path>`` starts the workflow."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import Field, field_validator, model_validator

from nodes.sdk import Node, NodeParameters, TriggerSpec

_PATH = re.compile(r"^[A-Za-z0-9._~:-]+(/[A-Za-z0-9._~:-]+)*$")
_SECRET = {"writeOnly": True}  # viewers and execution records see it masked
# Shown in the editor's form only for the auth mode they belong to (ui/editor/forms.py reads show_if).
_ONLY_HEADER = {"show_if": {"auth": ["header"]}}
_ONLY_BASIC = {"show_if": {"auth": ["basic"]}}
_ONLY_HMAC = {"show_if": {"auth": ["hmac"]}}


class WebhookParameters(NodeParameters):
    path: str = Field(
        description="URL path after /webhook/, e.g. 'orders/new' (a leading slash is optional; left empty, "
        "saving the workflow picks a random one). ':name' segments are path parameters, not the first one",
        json_schema_extra={"examples": ["orders/new"]},
    )
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] = Field(
        "POST", description="HTTP method the webhook answers"
    )
    respond: Literal["immediately", "last_node", "respond_node"] = Field(
        "immediately",
        description="When to answer the caller: at once (202 with the execution id), with the last "
        "node's output, or from a 'Respond to Webhook' node",
        json_schema_extra={"enum_labels": {"immediately": "Immediately (202 with the execution id)",
                                           "last_node": "When the last node finishes",
                                           "respond_node": "From a Respond to Webhook node"}},
    )
    auth: Literal["none", "header", "basic", "hmac"] = Field(
        "none", description="How callers prove who they are",
        json_schema_extra={"enum_labels": {"none": "None", "header": "Header with a secret",
                                           "basic": "Basic auth (user and password)", "hmac": "HMAC signature"}},
    )
    header_name: str = Field("X-API-Key", description="the header that carries the secret",
                             json_schema_extra=_ONLY_HEADER)
    header_value: str = Field("", description="the value the header must have",
                              json_schema_extra={**_SECRET, **_ONLY_HEADER})
    username: str = Field("", description="the user name", json_schema_extra=_ONLY_BASIC)
    password: str = Field("", description="the password", json_schema_extra={**_SECRET, **_ONLY_BASIC})
    hmac_secret: str = Field("", description="the shared secret the caller signs with",
                             json_schema_extra={**_SECRET, **_ONLY_HMAC})
    hmac_header: str = Field(
        "X-Signature",
        description="header with hex HMAC-SHA256 of '<timestamp>.<raw body>' "
        "(of the raw body alone when the timestamp check is off); a 'sha256=' prefix is accepted",
        json_schema_extra=_ONLY_HMAC,
    )
    timestamp_header: str = Field(
        "X-Timestamp", description="header with the Unix time (seconds) the caller signed at",
        json_schema_extra=_ONLY_HMAC,
    )
    timestamp_tolerance_s: int = Field(
        300, ge=0, description="refuse signatures older or newer than this; 0 turns the check off",
        json_schema_extra=_ONLY_HMAC,
    )

    @field_validator("path")
    @classmethod
    def _clean_path(cls, value: str) -> str:
        path = value.strip().strip("/")
        if not _PATH.match(path):
            raise ValueError(
                f"path {value!r} is not usable in a URL: use letters, digits and - _ . ~ : "
                "separated by '/', e.g. 'orders/new'"
            )
        return path

    @model_validator(mode="after")
    def _auth_settings_present(self) -> WebhookParameters:
        needed = {
            "header": ("header_name", "header_value"),
            "basic": ("username", "password"),
            "hmac": ("hmac_secret", "hmac_header"),
        }.get(self.auth, ())
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"auth={self.auth!r} needs {' and '.join(missing)}: set them or choose auth='none'")
        return self

    def refusal(self, headers: Mapping[str, str], body: bytes | Iterable[bytes], now: float) -> str | None:
        """Why a request fails this webhook's auth, or None if it passes (for the HTTP side).

        ``body`` is the request body, or its chunks in order (a large upload kept in a file).

        ``headers`` must look up names case-insensitively (Starlette's and httpx's do)::

            reason = params.refusal(request.headers, await request.body(), time.time())
            if reason: return 401
        """
        if self.auth == "header":
            return _same(headers.get(self.header_name), self.header_value, f"header {self.header_name}")
        if self.auth == "basic":
            expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return _same(headers.get("authorization"), f"Basic {expected}", "basic credentials")
        if self.auth == "hmac":
            return self._hmac_refusal(headers, body, now)
        return None

    def _hmac_refusal(self, headers: Mapping[str, str], body: bytes | Iterable[bytes], now: float) -> str | None:
        mac = hmac.new(self.hmac_secret.encode(), digestmod=hashlib.sha256)
        if self.timestamp_tolerance_s:
            stamp = headers.get(self.timestamp_header, "")
            if not stamp.isdigit() or abs(now - int(stamp)) > self.timestamp_tolerance_s:
                return f"missing or stale {self.timestamp_header} header"
            mac.update(stamp.encode() + b".")
        for chunk in (body,) if isinstance(body, bytes | bytearray) else body:
            mac.update(chunk)
        digest = mac.hexdigest()
        signature = (headers.get(self.hmac_header) or "").removeprefix("sha256=")
        return _same(signature, digest, f"signature in {self.hmac_header}")


def _same(given: str | None, expected: str, what: str) -> str | None:
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        return f"wrong or missing {what}"
    return None


class Webhook(Node):
    """Passes the request item the HTTP side builds (``{"json": {"headers", "query", "body"}}``) on."""

    type = "webhook"
    display_name = "Webhook"
    group = "trigger"
    side_effects = False
    icon = "webhook"
    description = "Starts the workflow when an HTTP request arrives at /webhook/<path>."
    inputs = ()
    trigger = TriggerSpec(kind="webhook")
    Parameters = WebhookParameters

    async def execute(self, ctx, items):
        return items
