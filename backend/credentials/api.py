"""HTTP API of the vault: /api/v1/credentials. Answers carry metadata, never values.

Viewers list and read the credentials they may see (see ``access.py``); editors create and
test; a credential's owner and the team's admins change, share, delete and connect it.
The OAuth2 callback is public: the provider redirects the browser there, and the
sealed ``state`` (bound to team, credential and a PKCE verifier, valid 10 minutes)
is what authorizes it. A connection started with ``return_to`` (the UI does) ends with
a redirect back to that page; otherwise the callback answers JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.credentials import service
from backend.credentials.access import Caller
from backend.credentials.registry import default_registry
from backend.credentials.schemas import (
    AuthorizeUrl,
    CredentialCreate,
    CredentialInfo,
    CredentialUpdate,
    SharingUpdate,
    TestOutcome,
    WorkflowUse,
)
from backend.db.deps import CommittingRoute, db_session
from backend.errors import Conflict, UserError
from backend.settings import get_settings
from backend.users.models import Role

router = APIRouter(route_class=CommittingRoute, prefix="/credentials", tags=["credentials"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]
CALLBACK_PATH = "/api/v1/credentials/oauth/callback"
UI_PAGE = "/credentials"  # where a browser lands after a connection that cannot say where it came from


def _caller(who: Principal) -> Caller:
    return Caller(who.user_id, who.role)


@contextmanager
def _unique_name(name: str | None) -> Iterator[None]:
    try:
        yield
    except IntegrityError:  # a concurrent create won the name between our check and the insert
        raise Conflict(f"this team already has a credential named {name!r}; choose another name") from None


@router.get("/types")
def list_types(_: Viewer) -> list[dict]:
    """Every credential type with the JSON schema of its fields; secret fields carry ``"secret": true``."""
    return default_registry().catalog()


@router.get("", response_model=list[CredentialInfo])
def list_credentials(db: Db, who: Viewer, type: str | None = None) -> list[CredentialInfo]:
    return service.list_credentials(db, who.team_id, type=type, caller=_caller(who))


@router.post("", response_model=CredentialInfo, status_code=201)
def create_credential(body: CredentialCreate, db: Db, who: Editor) -> CredentialInfo:
    with _unique_name(body.name):
        return service.create_credential(db, team_id=who.team_id, name=body.name, type=body.type,
                                         values=body.values, actor_id=who.user_id, caller=_caller(who))


@router.get("/oauth/callback", response_model=CredentialInfo,
            responses={303: {"description": "Back to the page the connection started from (browser flow)"}})
def oauth_callback(request: Request, db: Db, state: str = "", code: str = "", error: str = "",
                   error_description: Annotated[str, Query(max_length=500)] = "") -> CredentialInfo | Response:
    pending = service.pending_authorization(state)
    back_to = pending.get("return_to") if pending else (UI_PAGE if _wants_html(request) else None)
    try:
        if error:
            raise UserError(f"the provider did not grant access: {error}"
                            + (f" ({error_description})" if error_description else ""))
        if not state or not code:
            raise UserError("the callback needs the 'state' and 'code' the provider adds; start connecting again")
        info = service.complete_authorization(state, code, session=db)
    except UserError as exc:
        if back_to is None:
            raise
        return _back(back_to, oauth_error=exc.message)
    return info if back_to is None else _back(back_to, connected=info.id)


@router.get("/{credential_id}", response_model=CredentialInfo)
def get_credential(credential_id: str, db: Db, who: Viewer) -> CredentialInfo:
    return service.get_credential(db, who.team_id, credential_id, caller=_caller(who))


@router.get("/{credential_id}/usage", response_model=list[WorkflowUse])
def credential_usage(credential_id: str, db: Db, who: Viewer) -> list[WorkflowUse]:
    """The team's workflows whose newest version uses this credential, with the nodes that use it."""
    return service.credential_usage(db, who.team_id, credential_id, caller=_caller(who))


@router.patch("/{credential_id}", response_model=CredentialInfo)
def update_credential(credential_id: str, body: CredentialUpdate, db: Db, who: Editor) -> CredentialInfo:
    with _unique_name(body.name):
        return service.update_credential(db, team_id=who.team_id, credential_id=credential_id, name=body.name,
                                         values=body.values, actor_id=who.user_id, caller=_caller(who))


@router.put("/{credential_id}/sharing", response_model=CredentialInfo)
def share_credential(credential_id: str, body: SharingUpdate, db: Db, who: Editor) -> CredentialInfo:
    """Its owner or a team admin: share with the whole team, or only with the listed members."""
    return service.set_sharing(db, team_id=who.team_id, credential_id=credential_id,
                               shared_with_team=body.shared_with_team, user_ids=body.user_ids,
                               caller=_caller(who))


@router.delete("/{credential_id}", status_code=204)
def delete_credential(credential_id: str, db: Db, who: Editor) -> Response:
    service.delete_credential(db, team_id=who.team_id, credential_id=credential_id, actor_id=who.user_id,
                              caller=_caller(who))
    return Response(status_code=204)


@router.post("/{credential_id}/test", response_model=TestOutcome)
async def test_credential(credential_id: str, db: Db, who: Editor) -> TestOutcome:
    result = await service.test_connection(db, who.team_id, credential_id, caller=_caller(who))
    return TestOutcome(ok=result.ok, message=result.message)


@router.get("/{credential_id}/oauth/authorize", response_model=AuthorizeUrl)
def authorize(credential_id: str, db: Db, who: Editor,
              return_to: Annotated[str | None, Query(max_length=200, pattern=r"^(/[A-Za-z0-9_-]+)*/?$",
                                                     description="A path of this site the browser returns to "
                                                                 "after the provider, e.g. /credentials")] = None,
              ) -> AuthorizeUrl:
    redirect_uri = get_settings().public_url + CALLBACK_PATH
    url = service.start_authorization(who.team_id, credential_id, redirect_uri, actor_id=who.user_id, session=db,
                                      caller=_caller(who), return_to=return_to)
    return AuthorizeUrl(authorize_url=url)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _back(path: str, **params: str) -> RedirectResponse:
    # The path came sealed from our own authorize endpoint (or is UI_PAGE): never another site.
    return RedirectResponse(f"{path}?{urlencode(params)}", status_code=303)
