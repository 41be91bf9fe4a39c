"""HTTP API of the vault: /api/v1/credentials. Answers carry metadata, never values.

Viewers list and read; admins and owners create, change, delete, test and connect.
The OAuth2 callback is public: the provider redirects the browser there, and the
sealed ``state`` (bound to team, credential and a PKCE verifier, valid 10 minutes)
is what authorizes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.credentials import service
from backend.credentials.registry import default_registry
from backend.credentials.schemas import (
    AuthorizeUrl,
    CredentialCreate,
    CredentialInfo,
    CredentialUpdate,
    TestOutcome,
)
from backend.db.deps import db_session
from backend.errors import Conflict, UserError
from backend.settings import get_settings
from backend.users.models import Role

router = APIRouter(prefix="/credentials", tags=["credentials"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Admin = Annotated[Principal, Depends(require_role(Role.ADMIN))]
CALLBACK_PATH = "/api/v1/credentials/oauth/callback"


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
    return service.list_credentials(db, who.team_id, type=type)


@router.post("", response_model=CredentialInfo, status_code=201)
def create_credential(body: CredentialCreate, db: Db, who: Admin) -> CredentialInfo:
    with _unique_name(body.name):
        return service.create_credential(db, team_id=who.team_id, name=body.name, type=body.type,
                                         values=body.values, actor_id=who.user_id)


@router.get("/oauth/callback", response_model=CredentialInfo)
def oauth_callback(db: Db, state: str = "", code: str = "", error: str = "",
                   error_description: Annotated[str, Query(max_length=500)] = "") -> CredentialInfo:
    if error:
        raise UserError(f"the provider did not grant access: {error}"
                        + (f" ({error_description})" if error_description else ""))
    if not state or not code:
        raise UserError("the callback needs the 'state' and 'code' the provider adds; start connecting again")
    return service.complete_authorization(state, code, session=db)


@router.get("/{credential_id}", response_model=CredentialInfo)
def get_credential(credential_id: str, db: Db, who: Viewer) -> CredentialInfo:
    return service.get_credential(db, who.team_id, credential_id)


@router.patch("/{credential_id}", response_model=CredentialInfo)
def update_credential(credential_id: str, body: CredentialUpdate, db: Db, who: Admin) -> CredentialInfo:
    with _unique_name(body.name):
        return service.update_credential(db, team_id=who.team_id, credential_id=credential_id, name=body.name,
                                         values=body.values, actor_id=who.user_id)


@router.delete("/{credential_id}", status_code=204)
def delete_credential(credential_id: str, db: Db, who: Admin) -> Response:
    service.delete_credential(db, team_id=who.team_id, credential_id=credential_id, actor_id=who.user_id)
    return Response(status_code=204)


@router.post("/{credential_id}/test", response_model=TestOutcome)
async def test_credential(credential_id: str, db: Db, who: Admin) -> TestOutcome:
    result = await service.test_connection(db, who.team_id, credential_id)
    return TestOutcome(ok=result.ok, message=result.message)


@router.get("/{credential_id}/oauth/authorize", response_model=AuthorizeUrl)
def authorize(credential_id: str, db: Db, who: Admin) -> AuthorizeUrl:
    redirect_uri = get_settings().public_url + CALLBACK_PATH
    url = service.start_authorization(who.team_id, credential_id, redirect_uri, actor_id=who.user_id, session=db)
    return AuthorizeUrl(authorize_url=url)
