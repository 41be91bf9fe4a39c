"""The SSH node's parameters, the ssh credential's fields and the fingerprint parsing, without a server
(tests/integration/test_node_ssh.py runs them against a real sshd)."""

from __future__ import annotations

import asyncssh
import pytest
from pydantic import ValidationError

from backend.credentials.types.ssh import Ssh as SshCredential
from backend.credentials.types.ssh import SshFields
from nodes.builtin._ssh import normalized_fingerprint
from nodes.builtin.ssh import Ssh, SshParameters
from nodes.sdk import NodeUserError
from nodes.sdk.net import AddressRefused
from nodes.sdk.testing import run_node

KEY = asyncssh.generate_private_key("ssh-ed25519")
FINGERPRINT = KEY.get_fingerprint("sha256")
# keys exported with one bcrypt round keep these tests fast; bcrypt warns that one round is weak
pytestmark = pytest.mark.filterwarnings("ignore:.*bcrypt.kdf.. called with only:UserWarning")
LOGIN = {"host": "127.0.0.1", "port": 22, "username": "u", "password": "p", "private_key": None, "passphrase": None,
         "host_key_fingerprint": FINGERPRINT, "verify_host_key": True}


def test_fingerprints_are_taken_as_ssh_keygen_prints_them_or_as_a_public_key_line():
    public_line = KEY.export_public_key().decode()
    assert normalized_fingerprint(FINGERPRINT) == FINGERPRINT
    assert normalized_fingerprint(FINGERPRINT.removeprefix("SHA256:") + "=") == FINGERPRINT
    assert normalized_fingerprint(f"  {public_line}  ") == FINGERPRINT
    for bad in ("MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", "SHA256:short", "ssh-ed25519 notbase64!"):
        with pytest.raises(ValueError, match="ssh-keygen -lf|could not be read"):
            normalized_fingerprint(bad)


def test_credential_fields_check_what_can_be_checked_before_connecting():
    fields = SshFields(host="h", username="u", password="p", host_key_fingerprint=KEY.export_public_key().decode())
    assert fields.host_key_fingerprint == FINGERPRINT and fields.verify_host_key is True and fields.port == 22
    with pytest.raises(ValidationError, match="set a password or a private key"):
        SshFields(host="h", username="u")
    with pytest.raises(ValidationError, match="not a private key"):
        SshFields(host="h", username="u", private_key="hunter2")
    with pytest.raises(ValidationError, match="not a SHA256 host key fingerprint"):
        SshFields(host="h", username="u", password="p", host_key_fingerprint="aa:bb")
    assert set(SshCredential.secret_fields()) == {"password", "private_key", "passphrase"}
    injected = SshCredential().inject(SshFields(host="h", username="u", private_key=KEY.export_private_key().decode()))
    assert injected["password"] is None and injected["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY")


async def test_the_credential_test_refuses_internal_hosts_by_default():
    result = await SshCredential().test(SshFields(host="127.0.0.1", username="u", password="p"))
    assert not result.ok and "loopback address" in result.message


@pytest.mark.parametrize(("params", "problem"), [
    ({"operation": "execute"}, "execute needs a command"),
    ({"resource": "file", "operation": "execute", "command": "ls"}, "resource 'file' has no operation 'execute'"),
    ({"resource": "command", "operation": "upload"}, "resource 'command' has no operation 'upload'"),
    ({"resource": "file", "operation": "download"}, "download needs the path"),
    ({"resource": "file", "operation": "upload", "file_name": "../x"}, "file_name is a name, not a path"),
    ({"command": "ls", "timeout_s": 0}, "greater than or equal to 1"),
    ({"command": "ls", "max_output_bytes": 10**9}, "less than or equal to"),
])
def test_parameters_say_what_is_missing(params, problem):
    with pytest.raises(ValidationError, match=problem):
        SshParameters(**params)


async def test_the_server_address_goes_through_the_address_policy_before_anything_connects():
    with pytest.raises(AddressRefused, match="loopback"):
        await run_node(Ssh, [{"json": {}}], params={"command": "true"}, credentials={"ssh": LOGIN})


async def test_a_key_that_cannot_be_read_is_a_clear_user_error_before_connecting():
    encrypted = KEY.export_private_key(passphrase="right", rounds=1).decode()  # few KDF rounds: a fast test
    login = {**LOGIN, "password": None, "private_key": encrypted, "passphrase": "wrong"}
    with pytest.raises(NodeUserError, match="private key could not be read.*check the credential's passphrase"):
        await run_node(Ssh, [{"json": {}}], params={"command": "true"}, credentials={"ssh": login},
                       settings={"http_allow_list": ["127.0.0.1"]})


def test_the_node_is_registered_with_its_credential_slot():
    from nodes.builtin import NODE_TYPES

    assert Ssh in NODE_TYPES and Ssh.credential_slots == {"ssh": ("ssh",)} and Ssh.side_effects is True


@pytest.mark.parametrize(("key", "fmt", "passphrase", "cipher"), [
    (KEY, "openssh", None, None), (KEY, "openssh", "pw", None), (KEY, "pkcs8-pem", "pw", None),
    (RSA_KEY := asyncssh.generate_private_key("ssh-rsa", key_size=2048), "pkcs1-pem", None, None),
    (RSA_KEY, "pkcs1-pem", "pw", None), (RSA_KEY, "pkcs1-pem", "pw", "des3-cbc"),
])
def test_a_key_pasted_into_a_password_box_loses_its_line_breaks_and_still_works(key, fmt, passphrase, cipher):
    """Browsers drop line breaks pasted into a one-line input (the credential form's secret fields)."""
    options = {"cipher_name": cipher} if cipher else {"rounds": 1} if fmt == "openssh" else {}
    text = key.export_private_key(fmt, passphrase=passphrase, **options).decode()
    for pasted in (text.replace("\n", ""), text.replace("\n", " "), f"  {text}  "):
        fields = SshFields(host="h", username="u", private_key=pasted, passphrase=passphrase)
        stored = fields.private_key.get_secret_value()
        assert stored == text
        assert asyncssh.import_private_key(stored, passphrase).get_fingerprint() == key.get_fingerprint()
