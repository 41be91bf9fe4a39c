"""An HTTP request becomes the workflow's first item.

    {"json": {"body", "headers", "query", "params", "method"}, "binary": {field: ref}}

* ``application/json`` (and ``+json``): the parsed value; an empty body is ``{}``.
* ``application/x-www-form-urlencoded``: ``{name: value}``, a repeated name gives a list.
* ``multipart/form-data``: fields in ``body`` as above; each file is stored and referenced
  under ``binary[field]`` (``{id, execution_id, mime_type, file_name, size}``), the bytes never in json.
* anything else: ``body`` is the text when it is UTF-8, else its base64 and the bytes are
  also stored as ``binary["data"]``.

Uploads (multipart, and bodies of any other type than JSON, form and text) are read into a
temporary file past a megabyte (``read_webhook_body``) and go to storage from there in chunks,
so they are never held whole in memory; they may be as large as the file limit
(``LINKFLOW_HTTP_WEBHOOK_FILE_LIMIT_BYTES``). Such a body past the body limit is stored only:
its ``body`` is ``null``, the file is ``binary["data"]``.

Header names are lower case. The header that carried the webhook's secret (header or
basic auth) is replaced by ``"[redacted]"`` so secrets never reach execution history.
The body is read with a size limit: a Content-Length over it is refused before reading,
and a streamed body is counted as it arrives. A JSON body nested deeper than
``MAX_JSON_DEPTH`` levels, or a query string or form with more than ``MAX_FIELDS`` fields,
is refused with 422 before it is parsed further.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from backend.engine.services import BinaryStore
from backend.errors import UserError
from backend.input_guard import check_document
from backend.json_limits import MAX_JSON_DEPTH, TooDeep, check_depth
from backend.settings import get_settings

REDACTED = "[redacted]"
MAX_FILES = 100
MAX_FIELDS = 10_000  # query parameters, and fields of a form body
SPOOL_BYTES = 1024 * 1024  # an upload past this waits in a temporary file, not in memory
_CHUNK = 256 * 1024


class PayloadTooLarge(UserError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(UserError):
    status_code = 422
    code = "validation_error"


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class SpooledBody:
    """An upload past ``SPOOL_BYTES``, in a temporary file; the caller closes it."""

    file: tempfile.SpooledTemporaryFile
    size: int

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        while chunk := self.file.read(_CHUNK):
            yield chunk
        self.file.seek(0)

    def close(self) -> None:
        self.file.close()


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_upload(media_type: str) -> bool:
    """Bodies that are files rather than data to parse: multipart, and whatever is not JSON, form or text."""
    if media_type == "multipart/form-data":
        return True
    parsed = (media_type == "application/json" or media_type.endswith("+json")
              or media_type == "application/x-www-form-urlencoded" or media_type.startswith("text/"))
    return bool(media_type) and not parsed


async def read_webhook_body(request: Request, body_limit: int, file_limit: int) -> bytes | SpooledBody:
    """The body: bytes up to ``body_limit``, or for an upload past a megabyte a file up to ``file_limit``."""
    if not is_upload(media_type_of(request)):
        return await read_body(request, body_limit)
    limit = max(body_limit, file_limit)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit, "LINKFLOW_HTTP_WEBHOOK_FILE_LIMIT_BYTES")
    spool, size = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES), 0  # noqa: SIM115 - closed by the caller
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit, "LINKFLOW_HTTP_WEBHOOK_FILE_LIMIT_BYTES")
            spool.write(chunk)  # past a megabyte, into the page cache of a temporary file
    except BaseException:
        spool.close()
        raise
    if size <= SPOOL_BYTES:
        spool.seek(0)
        with spool:
            return spool.read()
    return SpooledBody(spool, size)


async def request_item(request: Request, body: bytes | SpooledBody, params: dict[str, str], binary: BinaryStore, *,
                       secret_header: str | None = None) -> dict:
    headers = dict(request.headers)
    if secret_header and secret_header.lower() in headers:
        headers[secret_header.lower()] = REDACTED
    content_type = headers.get("content-type", "")
    parsed, files = await _parse_body(request, body, content_type.split(";")[0].strip().lower(), binary)
    query = _fields(request.query_params.multi_items(), "query string") if request.scope.get("query_string") else {}
    data = {"body": parsed, "headers": headers, "query": query, "params": params, "method": request.method}
    return {"json": data, "binary": files} if files else {"json": data}


async def _parse_body(request: Request, body: bytes | SpooledBody, media_type: str,
                      binary: BinaryStore) -> tuple[object, dict]:
    if media_type == "multipart/form-data":
        return await _multipart(request, body, binary)
    if isinstance(body, SpooledBody):
        return await _upload(body, media_type, binary)
    if media_type == "application/json" or media_type.endswith("+json"):
        return _json(body), {}
    if media_type == "application/x-www-form-urlencoded":
        return _form(body), {}
    if not body:
        return {}, {}
    text = _text(body)
    if text is not None:
        return text, {}
    ref = await binary.put(body, mime_type=media_type or "application/octet-stream", file_name="")
    return base64.b64encode(body).decode("ascii"), {"data": ref}


def _json(body: bytes) -> object:
    if not body.strip():
        return {}
    try:
        check_depth(body, MAX_JSON_DEPTH, "the JSON body")
    except TooDeep as exc:
        raise Unprocessable(str(exc)) from None
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise UserError(f"the request body is not valid JSON ({exc}); send JSON or change the Content-Type"
                        ) from None
    check_document(document)  # NaN, NUL bytes, lone surrogates: PostgreSQL cannot store them (422)
    return document


async def _upload(body: SpooledBody, media_type: str, binary: BinaryStore) -> tuple[object, dict]:
    """An upload past a megabyte: as a smaller one when it fits the body limit, else stored only."""
    if body.size <= get_settings().http.webhook_body_limit_bytes:
        data = b"".join(body.chunks())  # what the item always had: the text, or base64 and the file
        text = _text(data)
        if text is not None:
            return text, {}
        body.file.seek(0)
        ref = await binary.put(body.file, mime_type=media_type or "application/octet-stream", file_name="")
        return base64.b64encode(data).decode("ascii"), {"data": ref}
    body.file.seek(0)
    ref = await binary.put(body.file, mime_type=media_type or "application/octet-stream", file_name="")
    return None, {"data": ref}


async def _multipart(request: Request, body: bytes | SpooledBody, binary: BinaryStore) -> tuple[dict, dict]:
    size = body.size if isinstance(body, SpooledBody) else len(body)
    stream = _spooled(body) if isinstance(body, SpooledBody) else _once(body)
    fields = min(size, get_settings().http.webhook_body_limit_bytes)  # form fields stay within the body limit
    parser = MultiPartParser(request.headers, stream, max_files=MAX_FILES, max_part_size=fields + 1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise UserError(f"the multipart body could not be read: {exc.message}") from None
    fields: list[tuple[str, str]] = []
    files: dict[str, dict] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            mime_type = value.content_type or "application/octet-stream"
            try:  # the spooled part goes to storage in chunks, not as one bytes object
                files[_free_key(files, name)] = await binary.put(value.file, mime_type=mime_type,
                                                                 file_name=value.filename or "")
            finally:
                await value.close()
        else:
            fields.append((name, value))
    return _fields(fields, "form body"), files


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _spooled(body: SpooledBody) -> AsyncIterator[bytes]:
    for chunk in body.chunks():
        yield chunk


def _free_key(taken: dict, name: str) -> str:
    key, n = name, 1
    while key in taken:
        key, n = f"{name}_{n}", n + 1
    return key


def _form(body: bytes) -> dict:
    try:  # parse_qsl stops at the limit instead of building millions of pairs first
        pairs = parse_qsl(_text(body) or "", keep_blank_values=True, max_num_fields=MAX_FIELDS + 1)
    except ValueError:
        raise Unprocessable(f"the form body has more than {MAX_FIELDS:,} fields; at most {MAX_FIELDS:,} are "
                            "accepted") from None
    return _fields(pairs, "form body")


def _fields(pairs: list[tuple[str, str]], what: str) -> dict:
    """``{name: value}``; a repeated name gives a list of its values, in order."""
    if len(pairs) > MAX_FIELDS:
        raise Unprocessable(f"the {what} has {len(pairs):,} fields; at most {MAX_FIELDS:,} are accepted")
    result: dict = {}
    repeated: set[str] = set()
    for key, value in pairs:
        if key not in result:
            result[key] = value
        elif key in repeated:
            result[key].append(value)  # in place: a name repeated n times costs n steps, not n squared
        else:
            result[key] = [result[key], value]
            repeated.add(key)
    return result


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _too_large(limit: int, setting: str = "LINKFLOW_HTTP_WEBHOOK_BODY_LIMIT_BYTES") -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the webhook limit of {limit} bytes ({setting})")
