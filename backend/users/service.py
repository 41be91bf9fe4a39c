"""Users, teams and memberships: the only writer of their tables."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.passwords import MIN_LENGTH, hash_password
from backend.errors import Conflict, UserError
from backend.users.models import Membership, Role, Team, User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise UserError(f"'{email}' is not a valid email address")
    return email


def create_user(session: Session, *, email: str, password: str, name: str = "",
                is_admin: bool = False) -> tuple[User, Team]:
    """Create a user with a personal team they own."""
    email = normalize_email(email)
    if len(password) < MIN_LENGTH:
        raise UserError(f"the password must be at least {MIN_LENGTH} characters long")
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with email {email} already exists")
    user = User(email=email, name=name or email.split("@")[0], password_hash=hash_password(password),
                is_admin=is_admin)
    team = Team(name=f"{user.name}'s team", slug=_slug(user.name))
    session.add_all([user, team])
    session.flush()
    session.add(Membership(team_id=team.id, user_id=user.id, role=Role.OWNER))
    session.flush()
    return user, team


def _slug(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "team"
    return f"{base}-{secrets.token_hex(3)}"
