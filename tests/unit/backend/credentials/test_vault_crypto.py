import json

import pytest
from sqlalchemy import select
from vault_testkit import vault_key

from backend.cli import main
from backend.credentials import service
from backend.credentials.crypto import (
    NONCE_BYTES,
    UnreadableCredential,
    VaultConfigError,
    open_token,
    open_values,
    parse_keys,
    seal_token,
)
from backend.credentials.models import Credential
from backend.db.session import session_scope
from backend.errors import UserError

K1, K2 = vault_key(1), vault_key(2)
SECRET = "s3cr3t-ROTATE-me"


def _create(team_id: str, name: str, secret: str = SECRET) -> str:
    with session_scope() as session:
        return service.create_credential(session, team_id=team_id, name=name, type="bearer_token",
                                         values={"token": secret}).id


def _rows() -> dict[str, Credential]:
    with session_scope() as session:
        return {row.id: row for row in session.scalars(select(Credential))}


def test_rows_survive_a_key_rotation_and_then_need_only_the_new_key(team_id, configure, capsys):
    configure(SECURITY_VAULT_KEYS=f"k1:{K1}")
    first, second = _create(team_id, "first"), _create(team_id, "second", "another-secret-value")
    assert {row.key_id for row in _rows().values()} == {"k1"}
    assert all(SECRET.encode() not in row.ciphertext for row in _rows().values())

    configure(SECURITY_VAULT_KEYS=f"k2:{K2},k1:{K1}")  # k2 now encrypts; k1 still opens old rows
    assert service.resolve_for_node(team_id, first) == {"headers": {"Authorization": f"Bearer {SECRET}"}}
    assert main(["credentials", "rotate-key"]) == 0
    assert json.loads(capsys.readouterr().out) == {"rotated": 2, "secret_variables": 0, "two_factor_secrets": 0,
                                                   "vendor_webhook_secrets": 0, "key_id": "k2"}
    assert {row.key_id for row in _rows().values()} == {"k2"}

    configure(SECURITY_VAULT_KEYS=f"k2:{K2}")
    assert service.resolve_for_node(team_id, first)["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert service.resolve_for_node(team_id, second)["headers"]["Authorization"] == "Bearer another-secret-value"


def test_rotation_without_the_old_key_fails_clearly_and_changes_nothing(team_id, configure, capsys):
    configure(SECURITY_VAULT_KEYS=f"k1:{K1}")
    _create(team_id, "old")
    before = {row.id: row.ciphertext for row in _rows().values()}
    configure(SECURITY_VAULT_KEYS=f"k2:{K2}")
    assert main(["credentials", "rotate-key"]) == 2
    err = capsys.readouterr().err
    assert "key id 'k1', which is not in LINKFLOW_SECURITY_VAULT_KEYS" in err
    assert "nothing was changed" in err
    assert {row.id: row.ciphertext for row in _rows().values()} == before


def test_a_tampered_ciphertext_does_not_open(team_id):
    credential_id = _create(team_id, "tampered")
    with session_scope() as session:
        row = session.get(Credential, credential_id)
        blob = bytearray(row.ciphertext)
        blob[NONCE_BYTES + 3] ^= 0x01
        row.ciphertext = bytes(blob)
    with pytest.raises(UnreadableCredential, match=r"credential 'tampered' .* cannot be decrypted with key 'dev'"
                                                   r": the stored data was altered"):
        service.resolve_for_node(team_id, credential_id)
    with session_scope() as session:  # entering the values again repairs it
        with pytest.raises(UserError, match="token: Field required"):
            service.update_credential(session, team_id=team_id, credential_id=credential_id, values={})
        service.update_credential(session, team_id=team_id, credential_id=credential_id, values={"token": "new"})
    assert service.resolve_for_node(team_id, credential_id) == {"headers": {"Authorization": "Bearer new"}}


def test_a_ciphertext_moved_onto_another_row_does_not_open(team_id):
    victim, attacker = _create(team_id, "victim"), _create(team_id, "attacker", "attackers-own-token")
    with session_scope() as session:
        source, target = session.get(Credential, victim), session.get(Credential, attacker)
        target.key_id, target.ciphertext = source.key_id, source.ciphertext
    with session_scope() as session:
        row = session.get(Credential, attacker)
        with pytest.raises(UnreadableCredential, match="belongs to another credential") as caught:
            open_values(row)
    assert SECRET not in str(caught.value)
    with session_scope() as session:  # the listing still answers, marking the row unreadable
        listed = {c.name: c for c in service.list_credentials(session, team_id)}
    assert listed["attacker"].readable is False and listed["victim"].readable is True


@pytest.mark.parametrize(("spec", "message"), [
    ("", "is empty"),
    (f"k1{K1}", "entry 1 must look like 'kid:base64key'"),
    (f"k1:{K1},k2:not base64!", "entry 2 (key id 'k2'): the key is not valid base64"),
    (f"k1:{K1},short:AAAA", "entry 2 (key id 'short'): the key is 3 bytes after base64 decoding; AES-256 needs 32"),
    (f"k1:{K1},k1:{K2}", "entry 2 (key id 'k1'): key id 'k1' is listed twice"),
])
def test_bad_key_settings_name_the_entry_and_never_the_key(spec, message):
    with pytest.raises(VaultConfigError) as caught:
        parse_keys(spec)
    assert message in str(caught.value)
    assert K1 not in str(caught.value) and K2 not in str(caught.value)


def test_parsed_keys_keep_their_order_so_the_first_one_encrypts():
    assert list(parse_keys(f" k2:{K2} , k1:{K1} ")) == ["k2", "k1"]


def test_a_bad_key_setting_stops_the_cli_with_a_message(configure, capsys):
    configure(SECURITY_VAULT_KEYS="k1:AAAA")
    assert main(["credentials", "rotate-key"]) == 2
    assert "LINKFLOW_SECURITY_VAULT_KEYS entry 1 (key id 'k1'): the key is 3 bytes" in capsys.readouterr().err


def test_sealed_tokens_open_only_unchanged(configure):
    configure(SECURITY_VAULT_KEYS=f"k1:{K1}")
    token = seal_token({"verifier": "v" * 50})
    assert "v" * 50 not in token
    assert open_token(token) == {"verifier": "v" * 50}
    assert open_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert open_token("garbage") is None


def test_rotation_re_seals_secret_variables_too(team_id, configure, capsys):
    from backend.variables import service as variables

    configure(SECURITY_VAULT_KEYS=f"k1:{K1}")
    with session_scope() as session:
        variables.create_variable(session, team_id=team_id, user_id=None, key="TOKEN", value=SECRET,
                                  is_secret=True)
    configure(SECURITY_VAULT_KEYS=f"k2:{K2},k1:{K1}")
    assert main(["credentials", "rotate-key"]) == 0
    assert json.loads(capsys.readouterr().out)["secret_variables"] == 1
    configure(SECURITY_VAULT_KEYS=f"k2:{K2}")  # the old key is gone; the secret still opens
    with session_scope() as session:
        assert variables.team_values(session, team_id) == {"TOKEN": SECRET}
