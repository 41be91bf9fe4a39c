"""An SSH login (password or private key), with the server's host key fingerprint; tested with a real login.

Host key checking is on by default: the test (and the SSH node) refuse a server whose host key does not
have the fingerprint stored here, before any password or key is sent, and say which fingerprint it
presented; with no fingerprint stored yet, "Test" shows the presented one to check and paste. The test
connects to the addresses the address policy checked, never to the name again.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from backend.credentials.types._http import server_addresses
from backend.credentials.types.base import CredentialFields, CredentialType, TestResult, secret
from nodes.builtin._ssh import connect, normalized_fingerprint, normalized_private_key
from nodes.sdk import NodeError


class SshFields(CredentialFields):
    host: str = Field(min_length=1, max_length=253, description="Server host name or address")
    port: int = Field(22, ge=1, le=65535)
    username: str = Field(min_length=1, max_length=256, description="User to log in as")
    password: SecretStr | None = secret(None, description="Password (or use a private key)")
    private_key: SecretStr | None = secret(None, description="Private key, OpenSSH or PEM format, BEGIN/END lines "
                                                             "included")
    passphrase: SecretStr | None = secret(None, description="Passphrase of the private key, if it has one")
    host_key_fingerprint: str = Field("", max_length=2000, description=(
        "The server's host key: its SHA256 fingerprint (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on "
        "the server) or that public key line. Empty: 'Test' shows the fingerprint the server presents"))
    verify_host_key: bool = Field(True, description="Refuse a server whose host key is not the one above "
                                                    "(turning this off lets a machine in between read the session)")

    @field_validator("host_key_fingerprint")
    @classmethod
    def _fingerprint(cls, value: str) -> str:
        return normalized_fingerprint(value) if value.strip() else ""

    @field_validator("private_key")
    @classmethod
    def _key_shape(cls, value: SecretStr | None) -> SecretStr | None:
        text = value.get_secret_value().strip() if value else ""
        if text and not (text.startswith("-----BEGIN") and "PRIVATE KEY-----" in text):
            raise ValueError("not a private key: paste the whole key file, from its -----BEGIN ... PRIVATE "
                             "KEY----- line to its END line")
        return SecretStr(normalized_private_key(text)) if text else None  # line breaks a password box dropped

    @model_validator(mode="after")
    def _some_secret(self) -> SshFields:
        if not self.password and not self.private_key:
            raise ValueError("set a password or a private key to log in with")
        return self


class Ssh(CredentialType):
    type = "ssh"
    display_name = "SSH"
    description = "An SSH/SFTP server login, by password or private key, with the server's host key."
    icon = "lock"
    Fields = SshFields
    test_timeout_s = 15.0

    def inject(self, values: SshFields) -> dict:
        """The login ``nodes.builtin._ssh.connect`` takes."""
        def plain(v: SecretStr | None) -> str | None:
            return v.get_secret_value() if v else None
        return {"host": values.host, "port": values.port, "username": values.username,
                "password": plain(values.password), "private_key": plain(values.private_key),
                "passphrase": plain(values.passphrase), "host_key_fingerprint": values.host_key_fingerprint,
                "verify_host_key": values.verify_host_key}

    async def test(self, values: SshFields) -> TestResult:
        addresses = await server_addresses(values.host, values.port)
        if isinstance(addresses, TestResult):
            return addresses
        try:
            conn = await connect(self.inject(values), addresses, self.test_timeout_s)
        except NodeError as exc:
            return TestResult(False, exc.message)
        try:
            server = conn.get_extra_info("server_version") or "an SSH server"
            fingerprint = conn.get_server_host_key().get_fingerprint("sha256")
        finally:
            conn.close()
        checked = "checked" if values.verify_host_key else "NOT checked"
        return TestResult(True, f"logged in to {values.host}:{values.port} as {values.username} ({server}; host "
                                f"key {fingerprint}, {checked})")
