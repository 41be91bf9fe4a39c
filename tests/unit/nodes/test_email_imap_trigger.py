"""Email Trigger (IMAP): parameters, search criteria, how an email becomes an item (MIME, encodings, attachments)
and hostile mail. Listening itself runs against the real Dovecot in tests/integration/test_email_imap_trigger.py."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import pytest
from pydantic import ValidationError

from nodes.builtin import _mail
from nodes.builtin._imap import Fetched, _meta, search_criteria
from nodes.builtin.email_imap_trigger import EmailReadImapParameters, _item, _resume


def test_search_criteria_follow_node_imaps_json_form():
    assert search_criteria('["UNSEEN"]') == ["UNSEEN"]
    assert search_criteria("[]") == ["ALL"]
    assert search_criteria('[["SINCE", "May 20, 2018"], ["FROM", "a\\"b@example.com"], "!SEEN"]') == [
        "SINCE", "20-May-2018", "FROM", '"a\\"b@example.com"', "NOT", "SEEN"]
    assert search_criteria('[["OR", ["TO", "a"], ["CC", "a"]], ["LARGER", 1000], ["SENTON", "2024-02-29"]]') == [
        "OR", "TO", '"a"', "CC", '"a"', "LARGER", "1000", "SENTON", "29-Feb-2024"]
    assert search_criteria('[["HEADER", "X-Shop", "orders"], ["NOT", ["SUBJECT", "spam"]]]') == [
        "HEADER", '"X-Shop"', '"orders"', "NOT", "SUBJECT", '"spam"']


@pytest.mark.parametrize(("text", "message"), [
    ("UNSEEN", "JSON list"), ('{"a": 1}', "must be a JSON list"), ('["DELETE"]', "unknown search key"),
    ('[["FROM"]]', "takes 1 value"), ('[["SINCE", "yesterday"]]', "takes a date"),
    ('[["SUBJECT", "line\\r\\nA1 DELETE INBOX"]]', "one-line ASCII"), ('[["SUBJECT", "Grüße"]]', "one-line ASCII"),
    ('[["LARGER", "big"]]', "whole number"), ('[["UID", "1:*"]]', "unknown search key"),
    ("[" + '["NOT", ' * 30 + '"SEEN"' + "]" * 31, "nested"), ("[" * 30 + '"ALL"' + "]" * 30, "a key or a list"),
    ("[[1]]", "a key or a list"),
])
def test_bad_search_criteria_are_refused_with_what_to_write(text, message):
    with pytest.raises(ValueError, match=message):
        search_criteria(text)


def test_parameters_are_checked_when_the_workflow_is_saved():
    assert EmailReadImapParameters().custom_email_config == '["UNSEEN"]'
    with pytest.raises(ValidationError, match="unknown search key"):
        EmailReadImapParameters(custom_email_config='["NOPE"]')
    with pytest.raises(ValidationError, match="one line of ASCII"):
        EmailReadImapParameters(mailbox="INBOX\r\nA1 LOGOUT")
    with pytest.raises(ValidationError):
        EmailReadImapParameters(attachment_prefix="../x")
    with pytest.raises(ValidationError):
        EmailReadImapParameters(poll_interval_s=0)


def test_a_restart_resumes_after_the_last_queued_uid_of_the_same_mailbox_and_uidvalidity():
    state = {"mailbox": "INBOX", "uidvalidity": 7, "last_uid": 42}
    assert _resume(state, "INBOX", 7) == 42
    assert _resume(state, "INBOX", 8) == 0  # renumbered by the server: old UIDs mean nothing
    assert _resume(state, "Orders", 7) == 0
    assert _resume({}, "INBOX", 7) == 0


def test_fetch_metadata_is_read_from_the_servers_answer():
    assert _meta([b"3 (UID 17 FLAGS (\\Seen \\Flagged) RFC822.SIZE 2048)"], 17) == (["\\Seen", "\\Flagged"], 2048)
    assert _meta([b"3 (UID 18 FLAGS () RFC822.SIZE 9)"], 17) is None
    assert _meta([None], 17) is None


class FakeFiles:
    """Stands in for the listener context's storage: put_binary keeps the bytes."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def put_binary(self, data: bytes, *, mime_type: str, file_name: str = "") -> dict:
        ref = {"id": f"f{len(self.files)}", "mime_type": mime_type, "file_name": file_name, "size": len(data)}
        self.files[ref["id"]] = data
        return ref


def item(raw: bytes, **parameters) -> tuple[dict, FakeFiles]:
    files = FakeFiles()
    fetched = Fetched(uid=5, flags=["\\Recent"], size=len(raw), raw=raw, complete=True)
    return asyncio.run(_item(files, fetched, EmailReadImapParameters(**parameters))), files


def invoice() -> bytes:
    message = EmailMessage()
    message["From"] = "Bäckerei Müller <orders@example.com>"
    message["To"] = "a@example.com, B <b@example.com>"
    message["Subject"] = "Rechnung März 🍞"
    message["Date"] = "Tue, 05 Mar 2024 10:00:00 +0100"
    message["Message-ID"] = "<m1@example.com>"
    message.set_content("Grüße aus Köln\n", cte="quoted-printable")
    message.add_alternative("<p>Grüße</p>", subtype="html", charset="iso-8859-1")
    message.add_attachment(b"%PDF-1.4 \x00\xff", maintype="application", subtype="pdf", filename="Rechnung März.pdf")
    message.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="../../etc/passwd")
    return message.as_bytes()


def test_simple_format_has_the_decoded_headers_and_bodies_and_files_only_when_asked():
    got, files = item(invoice())
    mail = got["json"]
    assert mail["subject"] == "Rechnung März 🍞" and mail["from"] == "Bäckerei Müller <orders@example.com>"
    assert mail["message-id"] == "<m1@example.com>"
    assert mail["textPlain"] == "Grüße aus Köln\n" and mail["textHtml"] == "<p>Grüße</p>\n"
    assert mail["attributes"] == {"uid": 5, "flags": ["\\Recent"], "size": len(invoice()), "complete": True}
    assert "binary" not in got and files.files == {}

    got, files = item(invoice(), download_attachments=True, attachment_prefix="file_")
    assert [(ref["file_name"], ref["mime_type"]) for ref in got["binary"].values()] == [
        ("Rechnung März.pdf", "application/pdf"), ("passwd", "text/csv")]  # a name is never a path
    assert list(got["binary"]) == ["file_0", "file_1"]
    assert files.files[got["binary"]["file_0"]["id"]] == b"%PDF-1.4 \x00\xff"


def test_resolved_format_parses_addresses_and_date_and_lists_the_attachments():
    got, _ = item(invoice(), format="resolved")
    mail = got["json"]
    assert mail["from"]["value"] == [{"address": "orders@example.com", "name": "Bäckerei Müller"}]
    assert [a["address"] for a in mail["to"]["value"]] == ["a@example.com", "b@example.com"]
    assert mail["date"] == "2024-03-05T10:00:00+01:00" and mail["messageId"] == "<m1@example.com>"
    assert mail["text"] == "Grüße aus Köln\n" and mail["cc"] is None
    assert [(a["filename"], a["binaryProperty"]) for a in mail["attachments"]] == [
        ("Rechnung März.pdf", "attachment_0"), ("passwd", "attachment_1")]
    assert set(got["binary"]) == {"attachment_0", "attachment_1"}


def test_raw_format_is_the_source():
    got, _ = item(b"Subject: hi\r\n\r\nbody \xff\r\n", format="raw")
    assert got["json"]["raw"] == "Subject: hi\r\n\r\nbody \ufffd\r\n"


def test_rfc2231_names_base64_and_unknown_charsets_decode_or_fall_back():
    raw = (b"Subject: =?x-unknown?q?caf=E9?= and =?iso-8859-1?q?caf=E9?=\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"aGVsbG8=\r\n--b\r\nContent-Type: image/png\r\n"
           b"Content-Disposition: attachment; filename*=utf-8''%C3%A4pfel.png\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\niVBORw==\r\n--b--\r\n")
    mail = _mail.parse_mail(raw)
    assert mail.headers["subject"].startswith("=?x-unknown?q?caf=E9?=")  # shown as it came, not dropped
    assert mail.text == "hello"
    assert [(a.file_name, a.data) for a in mail.attachments] == [("äpfel.png", b"\x89PNG")]


def test_huge_and_numerous_headers_are_capped():
    raw = b"Subject: " + b"x" * 3_000_000 + b"\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\nhi"
    mail = _mail.parse_mail(raw)
    assert len(mail.headers["subject"]) == _mail.MAX_HEADER_CHARS
    assert len(mail.headers) <= _mail.MAX_HEADERS
    assert mail.text == "hi"


def test_a_repeated_header_is_joined_and_stays_capped():
    raw = b"".join(b"Received: " + b"r" * 1000 + b"\r\n" for _ in range(200)) + b"\r\nhi"
    assert len(_mail.parse_mail(raw).headers["received"]) == _mail.MAX_HEADER_CHARS


def test_malformed_mime_still_gives_an_item():
    unterminated = (b"Subject: broken\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\n"
                    b"Content-Type: text/plain\r\n\r\nhello\r\n--zz\r\nContent-Type: application/pdf\r\n"
                    b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64")
    got, _ = item(unterminated, format="resolved")
    assert got["json"]["subject"] == "broken" and got["json"]["text"] == "hello"
    assert got["json"]["errors"]  # the parser's complaints are shown
    assert got["json"]["attachments"][0]["contentType"] == "application/pdf"
    no_boundary = b"Content-Type: multipart/mixed\r\nSubject: nb\r\n\r\njust text"
    assert _mail.parse_mail(no_boundary).headers["subject"] == "nb"
    garbage = bytes(range(256)) * 100
    assert isinstance(_mail.parse_mail(garbage), _mail.ParsedMail)


def test_deeply_nested_parts_give_the_headers_and_an_error():
    raw = b"Subject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n" + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1) for i in range(5000))
    mail = _mail.parse_mail(raw)
    assert mail.headers["subject"] == "deep" and mail.problems


def test_attachments_past_the_limit_are_left_out_and_said_so():
    message = EmailMessage()
    message["Subject"] = "many"
    message.set_content("x")
    for i in range(_mail.MAX_ATTACHMENTS + 5):
        message.add_attachment(b"%d" % i, maintype="application", subtype="octet-stream", filename=f"{i}.bin")
    mail = _mail.parse_mail(message.as_bytes())
    assert len(mail.attachments) == _mail.MAX_ATTACHMENTS
    assert any("5 left out" in problem for problem in mail.problems)


def test_an_attached_email_is_one_file():
    inner = EmailMessage()
    inner["Subject"] = "inner"
    inner.set_content("inner body")
    outer = EmailMessage()
    outer["Subject"] = "outer"
    outer.set_content("outer body")
    outer.add_attachment(inner)
    mail = _mail.parse_mail(outer.as_bytes())
    assert mail.text == "outer body\n"
    assert [a.mime_type for a in mail.attachments] == ["message/rfc822"]
    assert b"Subject: inner" in mail.attachments[0].data
