"""An HTTP request becomes the workflow's first item.

    {"json": {"body", "headers", "query", "params", "method"}, "binary": {field: ref}}

* ``application/json`` (and ``+json``): the parsed value; an empty body is ``{}``.
* ``application/x-www-form-urlencoded``: ``{name: value}``, a repeated name gives a list.
* ``multipart/form-data``: fields in ``body`` as above; each file is stored and referenced
  under ``binary[field]`` (``{id, mime_type, file_name, size}``), the bytes never in json.
* anything else: ``body`` is the text when it is UTF-8, else its base64 and the bytes are
  also stored as ``binary["data"]``.

Header names are lower case. The header that carried the webhook's secret (header or
basic auth) is replaced by ``"[redacted]"`` so secrets never reach execution history.
The body is read with a size limit: a Content-Length over it is refused before reading,
and a streamed body is counted as it arrives.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from backend.engine.services import BinaryStore
from backend.errors import UserError
from backend.input_guard import check_document

REDACTED = "[redacted]"
MAX_FILES = 100


class PayloadTooLarge(UserError):
    status_code = 413
    code = "payload_too_large"


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


async def request_item(request: Request, body: bytes, params: dict[str, str], binary: BinaryStore, *,
                       secret_header: str | None = None) -> dict:
    headers = dict(request.headers)
    if secret_header and secret_header.lower() in headers:
        headers[secret_header.lower()] = REDACTED
    content_type = headers.get("content-type", "")
    parsed, files = await _parse_body(request, body, content_type.split(";")[0].strip().lower(), binary)
    data = {"body": parsed, "headers": headers, "query": _multi_dict(request.query_params.multi_items()),
            "params": params, "method": request.method}
    return {"json": data, "binary": files} if files else {"json": data}


async def _parse_body(request: Request, body: bytes, media_type: str, binary: BinaryStore) -> tuple[object, dict]:
    if media_type == "application/json" or media_type.endswith("+json"):
        return _json(body), {}
    if media_type == "application/x-www-form-urlencoded":
        return _multi_dict(parse_qsl(_text(body) or "", keep_blank_values=True)), {}
    if media_type == "multipart/form-data":
        return await _multipart(request, body, binary)
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
        document = json.loads(body)
    except ValueError as exc:
        raise UserError(f"the request body is not valid JSON ({exc}); send JSON or change the Content-Type"
                        ) from None
    check_document(document)  # NaN, NUL bytes, lone surrogates: PostgreSQL cannot store them (422)
    return document


async def _multipart(request: Request, body: bytes, binary: BinaryStore) -> tuple[dict, dict]:
    parser = MultiPartParser(request.headers, _once(body), max_files=MAX_FILES, max_part_size=len(body) + 1)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise UserError(f"the multipart body could not be read: {exc.message}") from None
    fields: list[tuple[str, str]] = []
    files: dict[str, dict] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            await value.close()
            mime_type = value.content_type or "application/octet-stream"
            files[_free_key(files, name)] = await binary.put(data, mime_type=mime_type,
                                                             file_name=value.filename or "")
        else:
            fields.append((name, value))
    return _multi_dict(fields), files


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


def _free_key(taken: dict, name: str) -> str:
    key, n = name, 1
    while key in taken:
        key, n = f"{name}_{n}", n + 1
    return key


def _multi_dict(pairs) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            earlier = result[key]
            result[key] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            result[key] = value
    return result


def _text(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the webhook limit of {limit} bytes "
                           "(LINKFLOW_HTTP_WEBHOOK_BODY_LIMIT_BYTES)")
