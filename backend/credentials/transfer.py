"""Credentials in and out of a file, like n8n's ``export:credentials`` / ``import:credentials``.

    [{"name": "Shop DB", "type": "postgres", "key_id": "k1", "data": "<base64>"}, ...]   # encrypted (default)
    [{"name": "Shop DB", "type": "postgres", "values": {"host": ..., "password": ...}}]  # --decrypted

Encrypted entries are sealed with the vault's current key and bound to their name and type (not to a row,
so they open in another database that has the same ``LINKFLOW_SECURITY_VAULT_KEYS``). An import is one
transaction: a name already taken in the team, an unknown type, values that do not fit it or data that
does not open stop it with nothing imported.
"""

from __future__ import annotations

import base64
import binascii
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.credentials.crypto import current_vault, open_values
from backend.credentials.models import Credential
from backend.credentials.service import create_credential
from backend.errors import UserError

MAX_CREDENTIALS = 10_000


def _aad(name: str, type_name: str) -> bytes:
    return f"credential-export:{type_name}:{name}".encode()


def export_credentials(session: Session, team_id: str, *, decrypted: bool = False) -> list[dict]:
    rows = session.scalars(select(Credential).where(Credential.team_id == team_id).order_by(Credential.name))
    out = []
    vault = current_vault()
    for row in rows:
        values = open_values(row)
        entry = {"name": row.name, "type": row.type}
        if decrypted:
            entry["values"] = values
        else:
            kid, blob = vault.seal(json.dumps(values, separators=(",", ":")).encode(), _aad(row.name, row.type))
            entry.update(key_id=kid, data=base64.b64encode(blob).decode())
        out.append(entry)
    return out


def _values(entry: dict, index: int) -> dict:
    if isinstance(entry.get("values"), dict):
        return entry["values"]
    try:
        blob = base64.b64decode(str(entry.get("data", "")), validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"credentials[{index}]: 'data' is not base64; export the credentials again") from None
    plaintext = current_vault().open(str(entry.get("key_id", "")), blob, _aad(entry["name"], entry["type"]),
                                     f"credentials[{index}] ({entry['name']!r})")
    return json.loads(plaintext)


def import_credentials(session: Session, team_id: str, entries: object, *, actor_id: str | None = None) -> list[str]:
    """Create every credential of ``entries`` in ``team_id``; returns their ids (raises: nothing created)."""
    if not isinstance(entries, list) or len(entries) > MAX_CREDENTIALS:
        raise UserError(f"a credentials file is a JSON list of at most {MAX_CREDENTIALS:,} credentials")
    created = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or \
                not isinstance(entry.get("type"), str) or not ("values" in entry or "data" in entry):
            raise UserError(f"credentials[{index}] needs a name, a type and values (or encrypted data)")
        info = create_credential(session, team_id=team_id, name=entry["name"], type=entry["type"],
                                 values=_values(entry, index), actor_id=actor_id)
        created.append(info.id)
    return created
