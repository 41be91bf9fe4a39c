"""Secret variable values are stored sealed by the vault's cipher (AES-256-GCM, current key).

A sealed value is the text ``lfv1:<key id>:<base64 blob>``; the associated data binds it
to its team and variable id, so a value copied onto another row does not open.
"""

from __future__ import annotations

import base64

from backend.credentials.crypto import current_vault

PREFIX = "lfv1"


def _aad(team_id: str, variable_id: str) -> bytes:
    return f"variable:{team_id}:{variable_id}".encode()


def seal(team_id: str, variable_id: str, value: str) -> str:
    kid, blob = current_vault().seal(value.encode(), _aad(team_id, variable_id))
    return f"{PREFIX}:{kid}:{base64.b64encode(blob).decode()}"


def open_sealed(team_id: str, variable_id: str, stored: str, key: str) -> str:
    """The plain value; raises the vault's UnreadableCredential when it does not open."""
    prefix, _, rest = stored.partition(":")
    kid, _, encoded = rest.partition(":")
    if prefix != PREFIX or not kid:
        return stored  # written before secrets were sealed
    blob = base64.b64decode(encoded)
    return current_vault().open(kid, blob, _aad(team_id, variable_id), f"secret variable {key!r}").decode()
