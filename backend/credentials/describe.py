"""A credential as the API answers it: metadata, owner, sharing and usage; never a value."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.credentials.access import Caller, can_manage
from backend.credentials.crypto import UnreadableCredential, open_values
from backend.credentials.models import Credential, CredentialShare
from backend.credentials.schemas import CredentialInfo, UserRef
from backend.credentials.usage import team_usage
from backend.users.models import Membership, User


def describe(session: Session, rows: list[Credential], caller: Caller | None,
             stored: dict[str, dict] | None = None) -> list[CredentialInfo]:
    """CredentialInfo of `rows` (all of one team), with a few queries whatever their number.

    `stored` holds values already at hand by credential id (saves decrypting them again).
    """
    if not rows:
        return []
    ids = [row.id for row in rows]
    shares: dict[str, list[str]] = defaultdict(list)
    # Only current members are listed (someone who left the team has no access while away).
    for credential_id, user_id in session.execute(
            select(CredentialShare.credential_id, CredentialShare.user_id)
            .join(Membership, (Membership.user_id == CredentialShare.user_id)
                  & (Membership.team_id == rows[0].team_id))
            .where(CredentialShare.credential_id.in_(ids)).order_by(CredentialShare.created_at)):
        shares[credential_id].append(user_id)
    user_ids = {row.created_by for row in rows if row.created_by} | {u for us in shares.values() for u in us}
    users = {u.id: UserRef(id=u.id, name=u.name, email=u.email)
             for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    usage = team_usage(session, rows[0].team_id, only=ids if len(ids) <= 20 else None)
    stored = stored or {}
    return [_info(row, stored.get(row.id), caller, users, [users[u] for u in shares[row.id] if u in users],
                  len(usage.get(row.id, []))) for row in rows]


def _info(row: Credential, stored: dict | None, caller: Caller | None, users: dict[str, UserRef],
          shared_with: list[UserRef], usage_count: int) -> CredentialInfo:
    values = readable_values(row) if stored is None else stored
    return CredentialInfo(
        id=row.id, name=row.name, type=row.type, created_at=row.created_at, updated_at=row.updated_at,
        last_used_at=row.last_used_at, readable=bool(values),
        fields_set=sorted(k for k, v in values.items() if v not in (None, "")),
        owner=users.get(row.created_by or ""), shared_with_team=row.shared_with_team, shared_with=shared_with,
        usage_count=usage_count, can_manage=can_manage(row, caller))


def readable_values(row: Credential) -> dict:
    """The stored values; none when they cannot be decrypted, so sending all of them again repairs the row."""
    try:
        return open_values(row)
    except UnreadableCredential:
        return {}
