"""Previews for the data browser: the first bytes of a text file, the first page's text of a PDF.

Both read a bounded amount: text at most ``TEXT_BYTES`` from the start of the object; a PDF (whose
pages are found through the table at its end, so it is read whole) only up to ``PDF_MAX_BYTES``,
spooled to a temporary file, and only its first page is turned into text.
"""

from __future__ import annotations

import codecs
import logging
import re
import tempfile

from backend.errors import UserError
from backend.storage.ports import ObjectStorage
from backend.storage.schemas import PreviewOut

log = logging.getLogger("linkflow.storage")
TEXT_BYTES = 64 * 1024
PDF_MAX_BYTES = 20 * 1024 * 1024
PDF_TEXT_CHARS = 64 * 1024
_TEXT_TYPES = re.compile(r"^(text/[\w.+-]+|application/([\w.+-]+\+)?(json|xml)|application/x-ndjson|"
                         r"application/(x-)?yaml|application/csv)$")


class NotPreviewable(UserError):
    status_code = 422
    code = "not_previewable"


def kind_of(mime_type: str) -> str | None:
    """"text", "pdf" or None for a MIME type."""
    mime_type = mime_type.split(";", 1)[0].strip().lower()
    if mime_type == "application/pdf":
        return "pdf"
    return "text" if _TEXT_TYPES.match(mime_type) else None


def preview(storage: ObjectStorage, key: str, mime_type: str) -> PreviewOut:
    kind = kind_of(mime_type)
    if kind is None:
        raise NotPreviewable(f"files of type {mime_type!r} have no preview (text and PDF files do; images are "
                             "shown through a download link); download it instead")
    size = storage.info(key).size
    return _text(storage, key, size) if kind == "text" else _pdf(storage, key, size)


def _text(storage: ObjectStorage, key: str, size: int) -> PreviewOut:
    head = bytearray()
    chunks = storage.open(key, chunk_bytes=TEXT_BYTES)
    try:
        for chunk in chunks:
            head += chunk[:TEXT_BYTES - len(head)]
            if len(head) >= TEXT_BYTES:
                break
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    # Not final when the file goes on: a character cut at the end is left out, not shown as a bad byte.
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(bytes(head), final=size <= TEXT_BYTES)
    return PreviewOut(kind="text", text=text.replace("\x00", "\ufffd"), truncated=size > TEXT_BYTES, size=size)


def _pdf(storage: ObjectStorage, key: str, size: int) -> PreviewOut:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if size > PDF_MAX_BYTES:
        raise NotPreviewable(f"the PDF is {size:,} bytes; PDFs up to {PDF_MAX_BYTES:,} are previewed; download it")
    with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as spooled:
        for chunk in storage.open(key):
            spooled.write(chunk)
        spooled.seek(0)
        try:
            reader = PdfReader(spooled)
            if reader.is_encrypted:
                raise NotPreviewable("the PDF is encrypted; download it to read it")
            pages = len(reader.pages)
            text = reader.pages[0].extract_text() if pages else ""
        except NotPreviewable:
            raise
        except (PdfReadError, ValueError, KeyError, TypeError, IndexError, RecursionError) as exc:
            log.info("pdf preview failed: %s", exc)
            raise NotPreviewable(f"the file is not a readable PDF ({type(exc).__name__}); download it") from None
    text = (text or "").replace("\x00", "")
    return PreviewOut(kind="pdf", text=text[:PDF_TEXT_CHARS], truncated=len(text) > PDF_TEXT_CHARS, size=size,
                      pages=pages)
