"""What the SSH node and the ``ssh`` credential share: one checked, host-key-verified SSH connection.

Only what the credential holds is used: no ``~/.ssh/config``, ``known_hosts``, default keys, agent,
PKCS#11 or Kerberos of the machine LinkFlow runs on. The server's host key is compared with the
credential's fingerprint *before* any password or key is sent; a mismatch (or no fingerprint at all,
while checking is on) is refused with the fingerprint the server presented, so the user can compare it
with the server's own (``ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`` on the server).
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import re
from typing import TYPE_CHECKING

from nodes.sdk import NodeTransientError, NodeUserError

if TYPE_CHECKING:
    import asyncssh

# asyncssh is imported where it is used, not at module level: loading it costs ~0.1 s at start-up

CONNECT_TIMEOUT_S = 15
_SHA256 = re.compile(r"^(?:SHA256:)?([A-Za-z0-9+/]{43})=?$")


def normalized_fingerprint(text: str) -> str:
    """``SHA256:<base64>`` from what a user pastes: a fingerprint (with or without ``SHA256:``) or a
    public key line (``ssh-ed25519 AAAA... comment``). Raises ValueError saying what to paste instead.

    >>> normalized_fingerprint("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
    'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU'
    """
    text = text.strip()
    match = _SHA256.match(text)
    if match:
        return "SHA256:" + match.group(1)
    if text.startswith(("ssh-", "ecdsa-", "sk-")):
        import asyncssh

        try:
            return asyncssh.import_public_key(text).get_fingerprint("sha256")
        except (asyncssh.KeyImportError, ValueError, binascii.Error):
            raise ValueError("the host public key line could not be read; paste the line of the server's "
                             "/etc/ssh/ssh_host_*_key.pub, or its SHA256 fingerprint") from None
    raise ValueError("not a SHA256 host key fingerprint; paste what `ssh-keygen -lf "
                     "/etc/ssh/ssh_host_ed25519_key.pub` prints on the server (SHA256:...), or that public key line")


_PEM = re.compile(r"^-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----$", re.S)
# the IV is one cipher block: 16 bytes (32 hex digits) for AES, 8 for DES and the like
_PEM_HEADERS = re.compile(r"(Proc-Type:\s*4,ENCRYPTED|DEK-Info:\s*(?:AES-[0-9]+-[A-Z]+,[0-9A-F]{32}|[A-Z0-9-]+,[0-9A-F]{16}))")


def normalized_private_key(text: str) -> str:
    """A private key with its line breaks restored: a password box in a browser drops them when a key is
    pasted, which leaves one line that no SSH library reads. Already well-formed keys come back unchanged
    but for surrounding blanks.

    >>> normalized_private_key("-----BEGIN OPENSSH PRIVATE KEY-----abc def-----END OPENSSH PRIVATE KEY-----")
    '-----BEGIN OPENSSH PRIVATE KEY-----\\nabcdef\\n-----END OPENSSH PRIVATE KEY-----\\n'
    """
    text = text.strip()
    match = _PEM.match(text)
    if match is None or "\n" in text:
        return text + "\n" if match else text
    label, body = match.groups()
    headers = _PEM_HEADERS.findall(body)  # legacy encrypted PEM: "Proc-Type: 4,ENCRYPTED" "DEK-Info: ..."
    for header in headers:
        body = body.replace(header, "")
    body = re.sub(r"\s+", "", body)
    width = 70 if label == "OPENSSH PRIVATE KEY" else 64
    lines = [body[i:i + width] for i in range(0, len(body), width)]
    head = [re.sub(r":\s*", ": ", h) for h in headers] + ([""] if headers else [])
    return "\n".join([f"-----BEGIN {label}-----", *head, *lines, f"-----END {label}-----"]) + "\n"


class HostKeyRefused(NodeUserError):
    """The server's host key is not the one the credential names (or the credential names none)."""


@functools.cache
def _client_class() -> type:
    """The ``asyncssh.SSHClient`` that records the host key the server presents and checks it (defined on
    first use, so that importing this module does not import asyncssh)."""
    import asyncssh

    class _Client(asyncssh.SSHClient):
        def __init__(self, expected: str | None) -> None:
            self.expected, self.presented = expected, None

        def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
            self.presented = key
            return self.expected is None or key.get_fingerprint("sha256") == self.expected

    return _Client


def _private_key(login: dict) -> asyncssh.SSHKey | None:
    if not login.get("private_key"):
        return None
    import asyncssh

    try:
        return asyncssh.import_private_key(normalized_private_key(login["private_key"]),
                                           login.get("passphrase") or None)
    except (asyncssh.KeyImportError, ValueError) as exc:
        reason = str(exc)
        if "assphrase" in reason:
            reason += " (check the credential's passphrase)"
        raise NodeUserError(f"the SSH credential's private key could not be read: {reason}; paste the whole "
                            "key in OpenSSH or PEM format, BEGIN and END lines included") from None


def _refusal(where: str, client: asyncssh.SSHClient) -> HostKeyRefused:
    key = client.presented
    shown = f"{key.get_fingerprint('sha256')} ({key.get_algorithm()})" if key is not None else "no key"
    if not client.expected:
        return HostKeyRefused(f"{where} presented host key {shown}, and the SSH credential has no host key "
                              "fingerprint to check it against: compare it with `ssh-keygen -lf "
                              "/etc/ssh/ssh_host_ed25519_key.pub` run on the server, then put it in the "
                              "credential's 'Host key fingerprint' (or turn host key checking off, which lets "
                              "anyone between LinkFlow and the server read the session)")
    return HostKeyRefused(f"{where} presented host key {shown}, not the {client.expected} the SSH credential "
                          "expects; if the server's key really changed, put the new fingerprint in the "
                          "credential, otherwise someone may be intercepting the connection")


async def connect(login: dict, addresses: list[str], timeout_s: float = CONNECT_TIMEOUT_S
                  ) -> asyncssh.SSHClientConnection:
    """A logged-in connection to the first of the (address-policy checked) ``addresses`` that answers.

    ``login`` is what the ``ssh`` credential injects: host, port, username, password, private_key,
    passphrase, host_key_fingerprint, verify_host_key.
    """
    import asyncssh

    where = f"the SSH server {login['host']}:{login['port']}"
    key = _private_key(login)
    expected = None if not login.get("verify_host_key", True) else (login.get("host_key_fingerprint") or "")
    error: Exception | None = None
    for address in addresses:
        client = _client_class()(expected)
        try:
            conn, _ = await asyncio.wait_for(asyncssh.create_connection(
                lambda client=client: client, address, login["port"], username=login["username"],
                password=login.get("password") or None, client_keys=[key] if key else None,
                passphrase=None, known_hosts=([], [], []), config=[], agent_path=None, agent_identities=None,
                pkcs11_provider=None, gss_host=None, x509_trusted_certs=None, x509_trusted_cert_paths=[],
                client_certs=[], kbdint_auth=bool(login.get("password")), request_pty=False,
                connect_timeout=timeout_s, login_timeout=timeout_s, keepalive_interval=30), timeout_s * 2)
            return conn
        except asyncssh.HostKeyNotVerifiable:
            raise _refusal(where, client) from None
        except asyncssh.PermissionDenied as exc:
            used = "the password" if login.get("password") else ""
            used = " and ".join(filter(None, [used, "the private key" if key else ""])) or "no password or key"
            raise NodeUserError(f"{where} refused the login as {login['username']!r} with {used} "
                                f"({exc.reason}); check the user name, password and key in the SSH credential"
                                ) from None
        except (OSError, TimeoutError, asyncssh.DisconnectError) as exc:
            error = exc
    reason = "no answer in time" if isinstance(error, TimeoutError) else str(error) or type(error).__name__
    raise NodeTransientError(f"could not reach {where}: {reason}")

