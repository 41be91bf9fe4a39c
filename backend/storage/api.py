"""HTTP API of storage: /api/v1/storage. A member signs a download link; the link serves the bytes.

The file is always served as an attachment with ``nosniff`` and a sandboxing CSP: the name and
type in a reference are user data, and must not turn a stored upload into a page of this origin.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session
from starlette.concurrency import iterate_in_threadpool
from starlette.responses import StreamingResponse

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute, db_session
from backend.errors import NotFound
from backend.executions.history import get_execution
from backend.storage import keys, links
from backend.storage.ports import ObjectMissing
from backend.storage.preview import preview
from backend.storage.schemas import LinkOut, LinkRequest, PreviewOut
from backend.storage.service import get_storage
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/storage", tags=["storage"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
_MIME = re.compile(r"^[\w.+-]+/[\w.+-]+$")


@router.post("/links", response_model=LinkOut)
def create_link(body: LinkRequest, db: Db, who: Viewer) -> LinkOut:
    """A download link for a binary of one of the team's executions (valid for five minutes)."""
    get_execution(db, who.team_id, body.execution_id)  # another team's execution: 404 like a missing one
    try:
        size = get_storage().info(keys.binary_key(who.team_id, body.execution_id, body.id)).size
    except ObjectMissing:
        raise NotFound(f"binary data {body.id} of execution {body.execution_id} does not exist (it may have "
                       "been deleted)") from None
    expires = int(time.time()) + links.LINK_SECONDS
    token = links.sign(links.Grant(who.team_id, body.execution_id, body.id, body.file_name, body.mime_type, expires))
    return LinkOut(url=f"/api/v1/storage/download/{token}", expires_at=datetime.fromtimestamp(expires, UTC), size=size)


@router.post("/preview", response_model=PreviewOut, responses={422: {"description": "not previewable"}})
def preview_file(body: LinkRequest, db: Db, who: Viewer) -> PreviewOut:
    """The start of a text file, or the first page's text of a PDF, of one of the team's executions.

    Text types: ``text/*``, JSON, NDJSON, XML, CSV; the type comes from the request (the item's
    reference) and only picks how the bytes are read: the answer is always JSON text, never the file.
    """
    get_execution(db, who.team_id, body.execution_id)  # another team's execution: 404 like a missing one
    try:
        return preview(get_storage(), keys.binary_key(who.team_id, body.execution_id, body.id), body.mime_type)
    except ObjectMissing:
        raise NotFound(f"binary data {body.id} of execution {body.execution_id} does not exist (it may have "
                       "been deleted)") from None


@router.get("/download/{token}", responses={200: {"content": {"application/octet-stream": {}}}})
def download(token: str) -> StreamingResponse:
    """The bytes behind a signed link, streamed from storage in chunks."""
    grant = links.verify(token)
    try:
        chunks = get_storage().open(keys.binary_key(grant.team_id, grant.execution_id, grant.binary_id))
    except ObjectMissing:
        raise NotFound("the file of this link no longer exists (deleted with its execution)") from None
    mime = grant.mime_type if _MIME.match(grant.mime_type) else "application/octet-stream"
    name = grant.file_name or grant.binary_id
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name, safe='')}",
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox; default-src 'none'",
               "Cache-Control": "private, no-store"}
    return StreamingResponse(iterate_in_threadpool(chunks), media_type=mime, headers=headers)
