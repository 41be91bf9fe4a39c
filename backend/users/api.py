"""/api/v1/users: your own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from backend.auth.deps import current_user
from backend.db.deps import DbSession
from backend.errors import UserError
from backend.users import service as users
from backend.users.models import User
from backend.users.schemas import UserOut, UserPatch

router = APIRouter(prefix="/users", tags=["users"])

CurrentUser = Annotated[User, Depends(current_user)]


@router.get("/me", response_model=UserOut)
def get_me(user: CurrentUser) -> UserOut:
    return UserOut.model_validate(user)


@router.patch("/me", response_model=UserOut)
def update_me(body: UserPatch, user: CurrentUser, session: DbSession) -> UserOut:
    """Change your name, or your password (give `current_password` too). A password change
    revokes every refresh token of the account: each session signs in again once its access
    token expires."""
    users.update_profile(session, user, name=body.name)
    if body.password is not None:
        if body.current_password is None:
            raise UserError("to change the password, send current_password as well")
        users.change_password(session, user, current=body.current_password, new=body.password)
    return UserOut.model_validate(user)
