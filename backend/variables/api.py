"""HTTP API of variables: /api/v1/variables. Viewers read (secrets masked); editors and above write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.auth.deps import Principal, require_role
from backend.db.deps import CommittingRoute, db_session
from backend.errors import Conflict
from backend.users.models import Role
from backend.variables import service
from backend.variables.models import Variable
from backend.variables.schemas import MASK, VariableCreate, VariableList, VariableOut, VariableUpdate

router = APIRouter(route_class=CommittingRoute, prefix="/variables", tags=["variables"])

Db = Annotated[Session, Depends(db_session)]
Viewer = Annotated[Principal, Depends(require_role(Role.VIEWER))]
Editor = Annotated[Principal, Depends(require_role(Role.EDITOR))]


@contextmanager
def _unique_key(key: str | None) -> Iterator[None]:
    try:
        yield
    except IntegrityError:
        raise Conflict(f"a variable named {key!r} already exists in this team; choose another key") from None


def _out(variable: Variable) -> VariableOut:
    return VariableOut(id=variable.id, key=variable.key, value=MASK if variable.is_secret else variable.value,
                       is_secret=variable.is_secret, created_at=variable.created_at,
                       updated_at=variable.updated_at)


@router.get("", response_model=VariableList)
def list_variables(db: Db, who: Viewer) -> VariableList:
    items = [_out(v) for v in service.list_variables(db, who.team_id)]
    return VariableList(items=items, total=len(items))


@router.post("", response_model=VariableOut, status_code=201)
def create_variable(body: VariableCreate, db: Db, who: Editor) -> VariableOut:
    with _unique_key(body.key):
        variable = service.create_variable(db, team_id=who.team_id, user_id=who.user_id, key=body.key,
                                           value=body.value, is_secret=body.is_secret)
    return _out(variable)


@router.get("/{variable_id}", response_model=VariableOut)
def get_variable(variable_id: str, db: Db, who: Viewer) -> VariableOut:
    return _out(service.get_variable(db, who.team_id, variable_id))


@router.patch("/{variable_id}", response_model=VariableOut)
@router.put("/{variable_id}", response_model=VariableOut, include_in_schema=False)
def update_variable(variable_id: str, body: VariableUpdate, db: Db, who: Editor) -> VariableOut:
    variable = service.get_variable(db, who.team_id, variable_id)
    with _unique_key(body.key):
        service.update_variable(db, variable, user_id=who.user_id, key=body.key, value=body.value,
                                is_secret=body.is_secret)
    return _out(variable)


@router.delete("/{variable_id}", status_code=204)
def delete_variable(variable_id: str, db: Db, who: Editor) -> Response:
    service.delete_variable(db, service.get_variable(db, who.team_id, variable_id), user_id=who.user_id)
    return Response(status_code=204)
