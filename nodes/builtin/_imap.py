"""A blocking IMAP session for the Email Trigger (IMAP) and the ``imap`` credential's test: the standard library's
``imaplib`` connected to the addresses the address policy checked (the name kept for TLS), plus IDLE.

Run each call in a thread. Failures come out as ``NodeUserError`` (a refused login, an unknown mailbox, an
untrusted certificate: fix the settings) or ``NodeTransientError`` (the connection dropped or timed out: the
listener starts again after a pause).
"""

from __future__ import annotations

import contextlib
import functools
import imaplib
import json
import re
import select
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime

from nodes.sdk import NodeTransientError, NodeUserError
from nodes.sdk.net import open_connection

TIMEOUT_S = 30
IDLE_RENEW_S = 25 * 60  # RFC 2177: servers may drop a client idle for 30 minutes
_NEWS = frozenset(("EXISTS", "RECENT"))  # untagged answers that say the mailbox got messages
_FETCH_META = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)|RFC822\.SIZE (\d+)")

# IMAP SEARCH keys (RFC 3501 6.4.4) and what follows each: "" nothing, "s" a string, "d" a date, "n" a number
_SEARCH_KEYS = {
    **dict.fromkeys(("ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
                     "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN"), ""),
    **dict.fromkeys(("BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO", "KEYWORD", "UNKEYWORD"), "s"),
    **dict.fromkeys(("BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE"), "d"),
    "LARGER": "n", "SMALLER": "n", "HEADER": "ss",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def search_criteria(text: str) -> list[str]:
    """n8n's custom email config (node-imap's form, as JSON) as IMAP SEARCH tokens, or ValueError saying why.

    >>> search_criteria('["UNSEEN", ["SINCE", "2024-05-20"], ["FROM", "shop@example.com"]]')
    ['UNSEEN', 'SINCE', '20-May-2024', 'FROM', '"shop@example.com"']
    """
    try:
        value = json.loads(text or "[]")
    except ValueError:
        raise ValueError('write the search criteria as a JSON list, e.g. ["UNSEEN", ["FROM", "a@example.com"]]') \
            from None
    if not isinstance(value, list):
        raise ValueError('the search criteria must be a JSON list, e.g. ["UNSEEN"]')
    tokens: list[str] = []
    for criterion in value:
        tokens += _criterion(criterion, depth=0)
    return tokens or ["ALL"]


def _criterion(criterion, depth: int) -> list[str]:
    if depth > 10:
        raise ValueError("search criteria nested more than 10 levels deep")
    if isinstance(criterion, str):
        criterion = [criterion]
    if not isinstance(criterion, list) or not criterion or not isinstance(criterion[0], str):
        raise ValueError(f"a search criterion is a key or a list [key, value...], not {json.dumps(criterion)[:80]}")
    key, args = criterion[0].strip().upper(), criterion[1:]
    if key.startswith("!"):  # node-imap's negation: "!SEEN"
        return ["NOT", *_criterion([key[1:], *args], depth + 1)]
    if key == "NOT" and len(args) == 1:
        return ["NOT", *_criterion(args[0], depth + 1)]
    if key == "OR" and len(args) == 2:
        return ["OR", *_criterion(args[0], depth + 1), *_criterion(args[1], depth + 1)]
    kinds = _SEARCH_KEYS.get(key)
    if kinds is None:
        raise ValueError(f"unknown search key {key[:40]!r}; use one of {', '.join(sorted(_SEARCH_KEYS))}, NOT, OR")
    if len(args) != len(kinds):
        raise ValueError(f"search key {key} takes {len(kinds)} value(s), got {len(args)}")
    return [key, *(_argument(kind, arg, key) for kind, arg in zip(kinds, args, strict=True))]


def _argument(kind: str, value, key: str) -> str:
    if kind == "n":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} takes a size in bytes (a whole number)")
        return str(value)
    if kind == "d":
        return _imap_date(value, key)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{key} takes a text")
    text = str(value)
    if not text.isascii() or any(c in text for c in "\r\n\0"):
        raise ValueError(f"{key}: only one-line ASCII text can be searched for, not {text[:40]!r}")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _imap_date(value, key: str) -> str:
    if isinstance(value, str):
        for parse in (date.fromisoformat, lambda v: datetime.fromisoformat(v).date(),
                      lambda v: datetime.strptime(v, "%B %d, %Y").date(),
                      lambda v: datetime.strptime(v, "%b %d, %Y").date(),
                      lambda v: datetime.strptime(v, "%d-%b-%Y").date()):
            try:
                day = parse(value.strip())
                return f"{day.day}-{_MONTHS[day.month - 1]}-{day.year}"
            except ValueError:
                continue
    raise ValueError(f"{key} takes a date such as 2024-05-20 or 'May 20, 2024', not {str(value)[:40]!r}")


@dataclass
class Fetched:
    uid: int
    flags: list[str]
    size: int
    raw: bytes
    complete: bool  # False: larger than the limit, only the header was fetched


def _mapped(method):
    """Run an IMAP step; turn imaplib's and the socket's errors into the node's kinds of error."""

    @functools.wraps(method)
    def run(self: ImapSession, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except ssl.SSLCertVerificationError as exc:
            raise NodeUserError(f"{self.where}: the server's certificate is not trusted ({exc.verify_message}); "
                                "fix the certificate or allow unauthorized certificates in the credential") from None
        except imaplib.IMAP4.abort as exc:
            raise NodeTransientError(f"{self.where}: the connection broke: {_said(exc)}") from None
        except imaplib.IMAP4.error as exc:
            raise NodeUserError(f"{self.where} refused {method.__name__.replace('_', ' ')}: {_said(exc)}") from None
        except (TimeoutError, OSError) as exc:
            raise NodeTransientError(f"{self.where}: {type(exc).__name__}: {exc}") from None

    return run


def _said(exc: Exception) -> str:
    text = str(exc)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return text[:500]


class ImapSession:
    """One logged-in connection. ``login``: what the ``imap`` credential injects."""

    def __init__(self, login: dict, addresses: list[str], timeout_s: float = TIMEOUT_S) -> None:
        self.login, self.addresses, self.timeout_s = login, addresses, timeout_s
        self.where = f"IMAP {login['host']}:{login['port']}"
        self.imap: imaplib.IMAP4 | None = None

    @_mapped
    def open(self) -> None:
        context = _tls_context(self.login.get("allow_unauthorized_certs", False))
        if self.login["security"] == "tls":
            self.imap = _Tls(self.login["host"], self.login["port"], self.addresses, self.timeout_s, context)
        else:
            self.imap = _Plain(self.login["host"], self.login["port"], self.addresses, self.timeout_s)
            if self.login["security"] == "starttls":
                if "STARTTLS" not in self.imap.capabilities:
                    raise NodeUserError(f"{self.where} does not offer STARTTLS; choose TLS or none in the credential")
                self.imap.starttls(context)
        try:
            self.imap.login(self.login["user"], self.login.get("password") or "")
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            raise NodeUserError(f"{self.where} refused the login for {self.login['user']}: {_said(exc)}") from None

    @property
    def can_idle(self) -> bool:
        return self.imap is not None and "IDLE" in self.imap.capabilities

    @_mapped
    def select_mailbox(self, mailbox: str, readonly: bool) -> int:
        """Open the mailbox; its UIDVALIDITY."""
        typ, data = self.imap.select(_quoted(mailbox), readonly=readonly)
        if typ != "OK":
            raise NodeUserError(f"{self.where} has no mailbox {mailbox!r} for this user: {_said(data[0])}")
        validity = self.imap.untagged_responses.get("UIDVALIDITY") or [b"0"]
        return int(validity[-1])

    @_mapped
    def search(self, criteria: list[str], after_uid: int) -> list[int]:
        """UIDs above ``after_uid`` matching ``criteria``, oldest first."""
        for news in _NEWS:  # what the server reports from here on is news to the next wait_for_news
            self.imap.untagged_responses.pop(news, None)
        typ, data = self.imap.uid("SEARCH", *criteria, "UID", f"{after_uid + 1}:*")
        if typ != "OK":
            raise NodeUserError(f"{self.where} refused the search {' '.join(criteria)[:200]}: {_said(data[0])}")
        found = {int(uid) for chunk in data if chunk for uid in chunk.split() if uid.isdigit()}
        return sorted(uid for uid in found if uid > after_uid)  # "N:*" always holds the newest message

    @_mapped
    def fetch(self, uid: int, max_bytes: int) -> Fetched | None:
        """The message without setting \\Seen (BODY.PEEK); only its header when larger than ``max_bytes``;
        None when it is gone (expunged meanwhile)."""
        typ, data = self.imap.uid("FETCH", str(uid), "(UID FLAGS RFC822.SIZE)")
        meta = _meta(data, uid)
        if typ != "OK" or meta is None:
            return None
        flags, size = meta
        complete = size <= max_bytes
        typ, data = self.imap.uid("FETCH", str(uid), "(BODY.PEEK[])" if complete else "(BODY.PEEK[HEADER])")
        raw = next((part[1] for part in data if isinstance(part, tuple) and len(part) == 2), None)
        if typ != "OK" or raw is None:
            return None
        return Fetched(uid, flags, size, raw, complete)

    @_mapped
    def mark_seen(self, uid: int) -> None:
        typ, data = self.imap.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")
        if typ != "OK":
            raise NodeUserError(f"{self.where} refused to mark message {uid} as read: {_said(data[0])}")

    @_mapped
    def wait_for_news(self, stop: threading.Event, *, idle: bool, poll_s: float) -> None:
        """Return when the mailbox may hold new messages: IDLE reports one (or was renewed), or a poll is due;
        also soon after ``stop`` is set."""
        if idle and self.can_idle:
            self._idle(stop)
            return
        stop.wait(poll_s)
        if not stop.is_set():
            self.imap.noop()

    def _idle(self, stop: threading.Event) -> None:
        # imaplib (Python < 3.14) has no IDLE: the command is sent with its own tag and the answers are read
        # with imaplib's response reader, so its state stays right for the commands that follow.
        imap = self.imap
        if _NEWS & imap.untagged_responses.keys():  # reported since the last search, e.g. with a STORE's answer
            return
        tag = imap._new_tag()
        imap.send(tag + b" IDLE\r\n")
        while imap._get_response() is not None:  # None: the "+ idling" continuation
            if imap.tagged_commands.get(tag) is not None:  # refused: this round waits by polling
                imap.tagged_commands.pop(tag)
                stop.wait(1.0)
                return
        deadline = time.monotonic() + IDLE_RENEW_S
        while not stop.is_set() and time.monotonic() < deadline and not _NEWS & imap.untagged_responses.keys():
            if self._readable(1.0):
                imap._get_response()
                if "BYE" in imap.untagged_responses:
                    raise imaplib.IMAP4.abort(f"the server ended the session: {imap.untagged_responses['BYE'][-1]!r}")
        imap.send(b"DONE\r\n")
        imap._get_tagged_response(tag)

    def _readable(self, timeout_s: float) -> bool:
        imap = self.imap
        sock = imap.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        sock.settimeout(0.0)
        try:  # a line may already sit in imaplib's read buffer, where select() cannot see it
            if imap.file.peek(1):
                return True
        except (BlockingIOError, ssl.SSLWantReadError):
            pass
        finally:
            sock.settimeout(self.timeout_s)
        return bool(select.select([sock], [], [], timeout_s)[0])

    def close(self) -> None:
        imap, self.imap = self.imap, None
        if imap is None:
            return
        try:
            imap.sock.settimeout(5)
            imap.logout()
        except (imaplib.IMAP4.error, OSError, ValueError):
            with contextlib.suppress(OSError):
                imap.shutdown()


def _meta(data: list, uid: int) -> tuple[list[str], int] | None:
    for part in data:
        line = part[0] if isinstance(part, tuple) else part
        if not isinstance(line, bytes):
            continue
        found = {"uid": None, "flags": [], "size": 0}
        for match in _FETCH_META.finditer(line):
            if match.group(1):
                found["uid"] = int(match.group(1))
            elif match.group(2) is not None:
                found["flags"] = match.group(2).decode("ascii", "replace").split()
            else:
                found["size"] = int(match.group(3))
        if found["uid"] == uid:
            return found["flags"], found["size"]
    return None


def _quoted(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _tls_context(allow_unauthorized: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if allow_unauthorized:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _Plain(imaplib.IMAP4):
    def __init__(self, host: str, port: int, addresses: list[str], timeout_s: float) -> None:
        self._addresses = addresses
        super().__init__(host, port, timeout=timeout_s)

    def _create_socket(self, timeout):
        return open_connection(self._addresses, self.port, timeout)


class _Tls(imaplib.IMAP4_SSL):
    def __init__(self, host: str, port: int, addresses: list[str], timeout_s: float,
                 context: ssl.SSLContext) -> None:
        self._addresses = addresses
        super().__init__(host, port, ssl_context=context, timeout=timeout_s)

    def _create_socket(self, timeout):
        sock = open_connection(self._addresses, self.port, timeout)
        return self.ssl_context.wrap_socket(sock, server_hostname=self.host)  # the name, for the certificate
