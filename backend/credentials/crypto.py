"""The vault's cipher: AES-256-GCM under the keys of ``LINKFLOW_SECURITY_VAULT_KEYS``.

A sealed blob is ``12-byte random nonce || ciphertext || 16-byte tag``. The associated
data binds a credential's blob to its row (``team_id:credential_id``), so a ciphertext
copied onto another row, or into another team, does not decrypt. Every row stores the
id of the key that sealed it; the first key of the setting seals, every listed key opens,
and ``rotate`` re-seals all rows under the first key so old keys can be retired.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from backend.credentials.models import Credential
from backend.errors import UserError
from backend.settings import get_settings

NONCE_BYTES = 12
KEY_BYTES = 32
SETTING = "LINKFLOW_SECURITY_VAULT_KEYS"
_NEW_KEY_HINT = "generate one with: python -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())'"


class VaultConfigError(ValueError):
    """The key setting is malformed; the process should not start."""


class UnreadableCredential(UserError):
    """A blob that does not open: unknown key id, tampering, or a blob moved from another row."""

    status_code = 409
    code = "credential_unreadable"


@dataclass(frozen=True)
class Vault:
    keys: dict[str, bytes]  # ordered: the first key seals

    @property
    def current_kid(self) -> str:
        return next(iter(self.keys))

    def seal(self, plaintext: bytes, aad: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        kid = self.current_kid
        return kid, nonce + AESGCM(self.keys[kid]).encrypt(nonce, plaintext, aad)

    def open(self, kid: str, blob: bytes, aad: bytes, what: str) -> bytes:
        key = self.keys.get(kid)
        if key is None:
            raise UnreadableCredential(
                f"{what} was encrypted with key id {kid!r}, which is not in {SETTING} (it has "
                f"{', '.join(repr(k) for k in self.keys)}); add that key back after the current one and run "
                "`linkflow credentials rotate-key`"
            )
        try:
            return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            raise UnreadableCredential(
                f"{what} cannot be decrypted with key {kid!r}: the stored data was altered or belongs to "
                "another credential; enter the credential's values again"
            ) from None


def parse_keys(spec: str) -> dict[str, bytes]:
    """``"kid:base64key,kid2:base64key"`` -> ordered {kid: 32-byte key}; errors name the entry, never the key."""
    keys: dict[str, bytes] = {}
    entries = [e.strip() for e in spec.split(",") if e.strip()]
    if not entries:
        raise VaultConfigError(f"{SETTING} is empty; set it to 'kid:base64key' ({_NEW_KEY_HINT})")
    for position, entry in enumerate(entries, start=1):
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        where = f"{SETTING} entry {position}" + (f" (key id {kid!r})" if kid and sep else "")
        if not sep or not kid or not encoded.strip():
            raise VaultConfigError(f"{where} must look like 'kid:base64key'")
        if kid in keys:
            raise VaultConfigError(f"{where}: key id {kid!r} is listed twice; give each key its own id")
        keys[kid] = _decoded(encoded.strip(), where)
    return keys


def _decoded(encoded: str, where: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise VaultConfigError(f"{where}: the key is not valid base64; {_NEW_KEY_HINT}") from None
    if len(key) != KEY_BYTES:
        raise VaultConfigError(f"{where}: the key is {len(key)} bytes after base64 decoding; AES-256 needs "
                               f"{KEY_BYTES}; {_NEW_KEY_HINT}")
    return key


@functools.lru_cache(maxsize=4)
def _vault_for(spec: str) -> Vault:
    return Vault(parse_keys(spec))


def current_vault() -> Vault:
    return _vault_for(get_settings().security.vault_keys)


def credential_aad(team_id: str, credential_id: str) -> bytes:
    return f"credential:{team_id}:{credential_id}".encode()


def seal_values(row: Credential, values: dict) -> None:
    """Encrypt ``values`` into ``row`` (which needs its id and team_id set)."""
    row.key_id, row.ciphertext = _seal_for(row.team_id, row.id, values)


def _seal_for(team_id: str, credential_id: str, values: dict) -> tuple[str, bytes]:
    plaintext = json.dumps(values, separators=(",", ":")).encode()
    return current_vault().seal(plaintext, credential_aad(team_id, credential_id))


def open_values(row: Credential) -> dict:
    what = f"credential {row.name!r} ({row.id})"
    plaintext = current_vault().open(row.key_id, row.ciphertext, credential_aad(row.team_id, row.id), what)
    return json.loads(plaintext)


def store_values(session: Session, row: Credential, values: dict) -> None:
    """Re-seal ``values`` into the row without counting it as an edit (updated_at stays)."""
    key_id, ciphertext = _seal_for(row.team_id, row.id, values)
    session.execute(update(Credential).where(Credential.id == row.id)
                    .values(key_id=key_id, ciphertext=ciphertext, updated_at=Credential.updated_at))
    set_committed_value(row, "key_id", key_id)  # already written; the ORM must not write (and stamp) it again
    set_committed_value(row, "ciphertext", ciphertext)


def rotate(session: Session) -> int:
    """Re-encrypt every credential under the current (first) key; returns how many rows were re-sealed."""
    current_vault()  # a malformed key setting fails here, even with no rows
    rows = session.scalars(select(Credential).order_by(Credential.id).with_for_update()).all()
    for row in rows:
        store_values(session, row, open_values(row))
    return len(rows)


STATE_AAD = b"oauth2-state"


def seal_token(payload: dict) -> str:
    """An opaque, tamper-proof and confidential token (used for the OAuth2 ``state``)."""
    kid, blob = current_vault().seal(json.dumps(payload).encode(), STATE_AAD)
    return f"{kid}.{base64.urlsafe_b64encode(blob).decode().rstrip('=')}"


def open_token(token: str) -> dict | None:
    """The payload of a ``seal_token`` result, or None when it is not one of ours."""
    kid, _, encoded = token.partition(".")
    try:
        blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        return json.loads(current_vault().open(kid, blob, STATE_AAD, "the OAuth2 state"))
    except (UnreadableCredential, binascii.Error, ValueError):
        return None
