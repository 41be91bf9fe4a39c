"""Users, teams and memberships: the only writer of their tables."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth import audit, tokens
from backend.auth.attempts import Attempt, Rejected, guarded
from backend.auth.passwords import MIN_LENGTH, hash_password, verify_password
from backend.errors import Conflict, Forbidden, NotFound, UserError
from backend.users.models import Membership, Role, Team, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_MAX = 200  # users.name and teams.name
TEAM_SUFFIX = "'s team"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise UserError(f"'{email}' is not a valid email address")
    return email


def create_user(session: Session, *, email: str, password: str | None, name: str = "",
                is_admin: bool = False) -> tuple[User, Team]:
    """Create a user with a personal team they own (password None: an OAuth-only account)."""
    email = normalize_email(email)
    if password is not None:
        check_password_strength(password)
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with email {email} already exists")
    # A name made from a long email, or given by an OAuth provider, may exceed the columns.
    name = (name or email.split("@")[0])[:NAME_MAX]
    user = User(email=email, name=name,
                password_hash=hash_password(password) if password is not None else None, is_admin=is_admin)
    team = Team(name=f"{name[:NAME_MAX - len(TEAM_SUFFIX)]}{TEAM_SUFFIX}", slug=team_slug(name))
    session.add_all([user, team])
    session.flush()
    session.add(Membership(team_id=team.id, user_id=user.id, role=Role.OWNER))
    session.flush()
    return user, team


def check_password_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise UserError(f"the password must be at least {MIN_LENGTH} characters long")


def find_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


def update_profile(session: Session, user: User, *, name: str | None = None) -> User:
    if name is not None:
        if not name.strip():
            raise UserError("the name must not be empty")
        user.name = name.strip()
    return user


def change_password(session: Session, user: User, *, current: str, new: str, attempt: Attempt) -> None:
    """Change a password the user knows; every refresh token (other sessions) is revoked. The current
    password is checked under the per-account throttle (`attempt`), like a sign-in."""
    if not user.password_hash:
        raise Forbidden("this account signs in with an identity provider and has no password to change; "
                        "use \"Forgot password\" to set one")
    with guarded(attempt):
        if not verify_password(user.password_hash, current):
            raise Rejected("the current password is wrong; nothing was changed", "wrong_password",
                           status_code=403)
    attempt.throttle.succeeded(user.email)
    if current == new:
        raise UserError("the new password is the same as the current one; choose a different one")
    set_password(session, user, new)
    audit.record(session, "user.password_change", actor_id=user.id, team_id=None, object_type="user",
                 object_id=user.id)


def set_password(session: Session, user: User, new: str) -> None:
    check_password_strength(new)
    user.password_hash = hash_password(new)
    tokens.revoke_all_for_user(session, user.id)


def memberships(session: Session, user_id: str) -> list[tuple[Team, str]]:
    """(team, role) for every team of the user, oldest membership first."""
    rows = session.execute(select(Team, Membership.role).join(Membership, Membership.team_id == Team.id)
                           .where(Membership.user_id == user_id)
                           .order_by(Membership.created_at, Membership.id))
    return [(team, role) for team, role in rows]


def team_slug(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "team"
    return f"{base}-{secrets.token_hex(3)}"
