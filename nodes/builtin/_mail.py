"""Turning a fetched email (RFC 5322 bytes) into an item: the IMAP trigger's formats, hardened against hostile mail.

Every header is read from its raw form and decoded here (encoded words, unknown charsets and 8-bit bytes fall
back to the text as it came), so a header the standard library's parser cannot fold never stops a message:
the worst a malformed message gets is an item with less decoded. Limits keep one message's item bounded:
``MAX_HEADERS`` headers of at most ``MAX_HEADER_CHARS`` characters each, ``MAX_ATTACHMENTS`` files, parts nested
at most ``MAX_DEPTH`` deep (a parser that recurses past Python's limit yields the headers alone, with an error).
"""

from __future__ import annotations

import email.policy
import itertools
import mimetypes
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime

MAX_HEADERS = 500
MAX_HEADER_CHARS = 65_536
MAX_ATTACHMENTS = 100
MAX_DEPTH = 50
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]*")


@dataclass
class Attachment:
    file_name: str
    mime_type: str
    data: bytes


@dataclass
class ParsedMail:
    headers: dict[str, str]  # lower-case name -> decoded value (repeated headers joined with ", ")
    text: str | None = None
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read, for the item's "errors"
    dropped: int = 0  # attachments past MAX_ATTACHMENTS


def parse_mail(raw: bytes, *, with_attachments: bool = True) -> ParsedMail:
    """The headers, the first plain-text and HTML bodies and (optionally) the files of one message."""
    try:
        message = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    except (RecursionError, MemoryError, ValueError, TypeError, IndexError) as exc:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw.split(b"\r\n\r\n", 1)[0][:4_000_000])
        return ParsedMail(_headers(headers), problems=[f"the message's MIME structure could not be read "
                                                        f"({type(exc).__name__}); only its headers are shown"])
    mail = ParsedMail(_headers(message))
    mail.problems.extend(str(defect.__class__.__name__) for defect in (message.defects or [])[:10])
    _walk(message, mail, with_attachments, depth=0)
    if mail.dropped:
        mail.problems.append(f"only the first {MAX_ATTACHMENTS} attachments were kept ({mail.dropped} left out)")
    return mail


def _headers(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in itertools.islice(message.raw_items(), MAX_HEADERS):
        key = _CONTROL.sub("", str(name)).strip().lower()[:200]
        if not key:
            continue
        text = decode_value(value)
        out[key] = f"{out[key]}, {text}"[:MAX_HEADER_CHARS] if key in out else text
    return out


def decode_value(value: object) -> str:
    """A header's text: encoded words decoded, folding removed, 8-bit bytes read as UTF-8, capped."""
    raw = str(value)[:MAX_HEADER_CHARS * 2]
    raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")  # 8-bit header bytes
    raw = _FOLD.sub(" ", raw)
    try:
        text = str(make_header(decode_header(raw)))
    except (LookupError, ValueError, UnicodeError, AssertionError, TypeError, IndexError):
        text = raw  # an unknown charset or a broken encoded word: show it as it came
    return text.replace("\r", " ").replace("\n", " ")[:MAX_HEADER_CHARS]


def _walk(part: Message, mail: ParsedMail, with_attachments: bool, depth: int) -> None:
    if depth > MAX_DEPTH:
        mail.problems.append(f"parts nested deeper than {MAX_DEPTH} levels were left out")
        return
    content_type = part.get_content_type()
    if content_type == "message/rfc822":  # an attached email is one file, not more parts of this one
        _attach(part, mail, with_attachments, lambda: _inner_bytes(part))
        return
    if part.is_multipart():
        for sub in part.get_payload() or []:
            if isinstance(sub, Message):
                _walk(sub, mail, with_attachments, depth + 1)
        return
    name = _file_name(part)
    disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if content_type in ("text/plain", "text/html") and not name and disposition != "attachment":
        body = "text" if content_type == "text/plain" else "html"
        if getattr(mail, body) is None:
            setattr(mail, body, _text(part))
            return
    _attach(part, mail, with_attachments, lambda: part.get_payload(decode=True) or b"")


def _attach(part: Message, mail: ParsedMail, with_attachments: bool, read) -> None:
    if not with_attachments:
        return
    if len(mail.attachments) >= MAX_ATTACHMENTS:
        mail.dropped += 1
        return
    try:
        data = read()
    except Exception as exc:  # noqa: BLE001 - a part that cannot be decoded is reported, the rest goes on
        mail.problems.append(f"an attachment could not be decoded: {type(exc).__name__}")
        return
    mime_type = part.get_content_type()
    index = len(mail.attachments)
    name = _file_name(part) or f"attachment_{index}{mimetypes.guess_extension(mime_type) or '.bin'}"
    mail.attachments.append(Attachment(name, mime_type, data))


def _inner_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else payload
    return inner.as_bytes() if isinstance(inner, Message) else str(inner or "").encode("utf-8", "replace")


def _file_name(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except (ValueError, TypeError, LookupError, IndexError, UnicodeError):
        return ""
    name = decode_value(name)
    name = re.split(r"[/\\]", name)[-1]  # a name is never a path
    name = _CONTROL.sub("", name).strip().lstrip(".")
    return name[:200]


def _text(part: Message) -> str:
    data = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, "replace")
    except (LookupError, ValueError):
        return data.decode("utf-8", "replace")


def addresses(value: str | None) -> dict | None:
    """A mailparser-like address object: ``{"value": [{"address", "name"}], "text"}``."""
    if not value:
        return None
    try:
        pairs = getaddresses([value])
    except (ValueError, TypeError, IndexError):
        pairs = []
    return {"value": [{"address": address, "name": name} for name, address in pairs if address or name][:1000],
            "text": value}


def iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
