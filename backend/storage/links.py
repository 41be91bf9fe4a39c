"""Short-lived signed download links to a stored binary (the data browser's "Download").

A link names the team, execution and binary id, with the file name and type to answer with and
an expiry, signed with the secret key (HMAC-SHA256, its own domain). It is issued only to a
member of the team whose execution it is; the download route checks the signature and the
expiry and nothing else, so the URL can be opened by the browser without a token header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import asdict, dataclass

from backend.errors import Forbidden
from backend.settings import get_settings

LINK_SECONDS = 300
_DOMAIN = b"linkflow-storage-download:"


@dataclass(frozen=True, slots=True)
class Grant:
    team_id: str
    execution_id: str
    binary_id: str
    file_name: str
    mime_type: str
    expires: int  # unix seconds


def sign(grant: Grant) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(asdict(grant), separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{payload}.{_mac(payload)}"


def verify(token: str, now: float | None = None) -> Grant:
    """The grant of a valid, unexpired link; Forbidden otherwise (the same answer for every reason)."""
    payload, _, mac = token.partition(".")
    if not payload or not hmac.compare_digest(mac, _mac(payload)):
        raise Forbidden("this download link is not valid; open the file from the execution again")
    try:
        grant = Grant(**json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))
    except (ValueError, TypeError):
        raise Forbidden("this download link is not valid; open the file from the execution again") from None
    if grant.expires < (now if now is not None else time.time()):
        raise Forbidden("this download link has expired; open the file from the execution again")
    return grant


def _mac(payload: str) -> str:
    key = get_settings().security.secret_key.encode()
    return hmac.new(key, _DOMAIN + payload.encode(), hashlib.sha256).hexdigest()
