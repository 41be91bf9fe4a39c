"""How a credential bound to the HTTP Request node's ``auth`` slot is applied to a request.

``ctx.credentials("auth")`` returns one of these shapes (the credential types'
job is to produce them; the node never sees anything else):

- injection, the general form: ``{"headers": {"X-Api-Key": "..."}, "query": {"key": "..."}}``
  (either part may be left out);
- ``{"type": "http_basic", "username": "...", "password": "..."}`` (``"basic"`` also works);
- ``{"type": "bearer_token", "token": "..."}`` (``"bearer"`` also works);
- ``{"type": "oauth2", "access_token": "...", "token_type": "Bearer"}``;
- ``{"type": "api_key_header", "header_name": "X-Api-Key", "api_key": "..."}``.

Credential headers replace request headers of the same name. When a redirect leaves
the original origin, the credential headers (and Authorization / Cookie) are dropped.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from nodes.sdk import NodeUserError


@dataclass(frozen=True)
class Injection:
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


def injection_from(credential: dict) -> Injection:
    """The headers and query parameters ``credential`` adds; a NodeUserError for unknown shapes."""
    kind = credential.get("type")
    if kind is None and ("headers" in credential or "query" in credential):
        return Injection(_strings(credential.get("headers")), _strings(credential.get("query")))
    builder = _BUILDERS.get(kind)
    if builder is None:
        raise NodeUserError(
            f"the credential in slot 'auth' has an unsupported shape (type {kind!r}, keys {sorted(credential)}); "
            "HTTP Request accepts api_key_header, http_basic, bearer_token and oauth2 credentials"
        )
    try:
        return Injection(headers=builder(credential))
    except KeyError as missing:
        raise NodeUserError(f"the {kind} credential in slot 'auth' lacks the field {missing}; edit the credential") from None


def _basic(credential: dict) -> dict[str, str]:
    pair = f"{credential['username']}:{credential.get('password', '')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def _bearer(credential: dict) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential['token']}"}


def _oauth2(credential: dict) -> dict[str, str]:
    token_type = credential.get("token_type") or "Bearer"
    return {"Authorization": f"{token_type.capitalize()} {credential['access_token']}"}


def _api_key_header(credential: dict) -> dict[str, str]:
    value = credential.get("api_key", credential.get("value"))
    if value is None:
        raise KeyError("api_key")
    return {credential["header_name"]: str(value)}


_BUILDERS = {
    "basic": _basic, "http_basic": _basic,
    "bearer": _bearer, "bearer_token": _bearer,
    "oauth2": _oauth2,
    "api_key_header": _api_key_header,
}


def _strings(values: object) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise NodeUserError("the credential in slot 'auth' must give headers and query as objects of texts")
    return {str(key): str(value) for key, value in values.items()}
