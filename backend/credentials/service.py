"""The credentials vault: the only writer of the credentials table.

Values are validated against their type's ``Fields`` model, stored only as ciphertext
(``crypto.py``), and leave this module decrypted only through ``resolve_for_node`` (for
a node in a worker) and a type's ``test``. Everything else answers metadata. Messages
never carry a value: secrets are scrubbed from anything a type or a server says.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import SecretStr, ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from backend.credentials.access import Caller, InvalidSharing, ensure_manage, visible_to
from backend.credentials.crypto import (
    open_token,
    open_values,
    seal_token,
    seal_values,
    store_values,
)
from backend.credentials.describe import describe, readable_values
from backend.credentials.models import Credential, CredentialShare
from backend.credentials.registry import default_registry
from backend.credentials.schemas import CredentialInfo, WorkflowUse
from backend.credentials.types import (
    CredentialFields,
    CredentialProblem,
    CredentialType,
    TestResult,
    oauth2,
    plain_values,
)
from backend.credentials.usage import team_usage
from backend.db.base import new_id, utcnow
from backend.db.session import session_scope
from backend.errors import Conflict, NotFound, TransientError, UserError
from backend.events.outbox import emit
from backend.users.models import Membership

log = logging.getLogger("linkflow.credentials")
STATE_TTL_S = 600  # how long an OAuth2 authorization may take between start and callback


# ---- reading ---------------------------------------------------------------------------------------------

def list_credentials(session: Session, team_id: str, *, type: str | None = None,
                     caller: Caller | None = None) -> list[CredentialInfo]:
    """The team's credentials `caller` may see (None: all of them), by name."""
    query = select(Credential).where(Credential.team_id == team_id, visible_to(caller)).order_by(Credential.name)
    if type:
        query = query.where(Credential.type == type)
    return describe(session, list(session.scalars(query)), caller)


def get_credential(session: Session, team_id: str, credential_id: str, *,
                   caller: Caller | None = None) -> CredentialInfo:
    return _info(session, _row(session, team_id, credential_id, caller=caller), caller)


def credential_usage(session: Session, team_id: str, credential_id: str, *,
                     caller: Caller | None = None) -> list[WorkflowUse]:
    """The team's workflows whose newest version uses the credential."""
    row = _row(session, team_id, credential_id, caller=caller)
    return team_usage(session, team_id, only=[row.id]).get(row.id, [])


# ---- writing ---------------------------------------------------------------------------------------------

def create_credential(session: Session, *, team_id: str, name: str, type: str, values: dict,
                      actor_id: str | None = None, caller: Caller | None = None) -> CredentialInfo:
    name = _clean_name(name)
    ctype = default_registry().get(type)
    stored = plain_values(_validated(ctype, values, name))
    _check_name_free(session, team_id, name)
    row = Credential(id=new_id(), team_id=team_id, name=name, type=ctype.type, created_by=actor_id)
    seal_values(row, stored)
    session.add(row)
    session.flush()
    _audit(session, row, "credential.create", actor_id)
    return _info(session, row, caller, stored)


def update_credential(session: Session, *, team_id: str, credential_id: str, name: str | None = None,
                      values: dict | None = None, actor_id: str | None = None,
                      caller: Caller | None = None) -> CredentialInfo:
    row = _row(session, team_id, credential_id, lock=True, caller=caller)
    ensure_manage(row, caller)
    changed: list[str] = []
    new_name = row.name if name is None else _clean_name(name)
    if new_name != row.name:
        _check_name_free(session, team_id, new_name)
        row.name = new_name
        changed.append("name")
    stored = None
    if values is not None:
        ctype = default_registry().get(row.type)
        old = readable_values(row)
        kept = {k: v for k, v in values.items() if not (k in ctype.secret_fields() and v == "")}
        stored = plain_values(_validated(ctype, {**old, **kept}, row.name))
        changed += sorted(f"values.{k}" for k in stored if stored[k] != old.get(k))
        seal_values(row, stored)
    session.flush()
    _audit(session, row, "credential.update", actor_id, changed=changed)
    return _info(session, row, caller, stored)


def delete_credential(session: Session, *, team_id: str, credential_id: str, actor_id: str | None = None,
                      caller: Caller | None = None) -> None:
    row = _row(session, team_id, credential_id, lock=True, caller=caller)
    ensure_manage(row, caller)
    _audit(session, row, "credential.delete", actor_id)
    session.delete(row)
    session.flush()


def set_sharing(session: Session, *, team_id: str, credential_id: str, shared_with_team: bool,
                user_ids: list[str], caller: Caller | None = None) -> CredentialInfo:
    """Share with the whole team, or only with the listed members (plus the owner and the team's admins)."""
    row = _row(session, team_id, credential_id, lock=True, caller=caller)
    ensure_manage(row, caller)
    wanted = list(dict.fromkeys(user_ids))
    members = set(session.scalars(select(Membership.user_id).where(
        Membership.team_id == team_id, Membership.user_id.in_(wanted)))) if wanted else set()
    strangers = [u for u in wanted if u not in members]
    if strangers:
        raise InvalidSharing(f"credentials are shared only with members of this team; not members: "
                             f"{', '.join(strangers[:5])}{' ...' if len(strangers) > 5 else ''}",
                             details=[{"field": "user_ids", "user_id": u} for u in strangers])
    session.execute(delete(CredentialShare).where(CredentialShare.credential_id == row.id))
    session.add_all(CredentialShare(credential_id=row.id, user_id=u) for u in wanted)
    row.shared_with_team = shared_with_team
    session.flush()
    _audit(session, row, "credential.share", caller.user_id if caller else None,
           shared_with_team=shared_with_team, user_ids=wanted)
    return _info(session, row, caller)


# ---- using -----------------------------------------------------------------------------------------------

async def test_connection(session: Session, team_id: str, credential_id: str, *,
                          caller: Caller | None = None) -> TestResult:
    """Renew what needs renewing, then let the type make a real request with the values."""
    row = _row(session, team_id, credential_id, caller=caller)
    ctype = default_registry().get(row.type)
    values = _stored_fields(ctype, row)
    try:
        fresh = await asyncio.to_thread(ctype.refresh, values, time.time())
    except (CredentialProblem, TransientError) as exc:
        return TestResult(False, _scrubbed(str(exc), values))
    if fresh is not None:
        store_values(session, row, plain_values(fresh))
        values = fresh
    try:
        result = await asyncio.wait_for(ctype.test(values), ctype.test_timeout_s + 5)
    except TimeoutError:
        result = TestResult(False, f"the test did not finish within {ctype.test_timeout_s + 5:g} s")
    except Exception as exc:  # noqa: BLE001 - a broken test must answer, and must not echo values
        log.error("credential test of type %s raised %s", row.type, type(exc).__name__)
        result = TestResult(False, f"the test failed unexpectedly ({type(exc).__name__}); it was logged")
    return TestResult(result.ok, _scrubbed(result.message, values))


def resolve_for_node(team_id: str, credential_id: str, *, node_name: str = "",
                     execution_id: str | None = None, record_use: bool = True) -> dict:
    """Decrypt, renew if due, and return what the node injects; records the use unless told not to
    (a run records its first use of each credential, not every item of a loop)."""
    with session_scope() as session:
        row = _row(session, team_id, credential_id, lock=True)
        ctype = default_registry().get(row.type)
        values = _stored_fields(ctype, row)
        try:
            fresh = ctype.refresh(values, time.time())
            if fresh is not None:
                store_values(session, row, plain_values(fresh))
                values = fresh
            injection = ctype.inject(values)
        except CredentialProblem as exc:
            raise UserError(f"credential {row.name!r}: {_scrubbed(str(exc), values)}") from None
        except TransientError as exc:
            raise TransientError(f"credential {row.name!r}: {_scrubbed(str(exc), values)}") from None
        if record_use:
            session.execute(update(Credential).where(Credential.id == row.id)
                            .values(last_used_at=utcnow(), updated_at=Credential.updated_at))
            _audit(session, row, "credential.use", None, node=node_name, execution_id=execution_id)
    return injection


# ---- OAuth2 authorization code flow ----------------------------------------------------------------------

def start_authorization(team_id: str, credential_id: str, redirect_uri: str, *, actor_id: str | None = None,
                        session: Session | None = None, caller: Caller | None = None,
                        return_to: str | None = None) -> str:
    """The provider URL to send the user to. State and PKCE verifier travel sealed in ``state``.

    ``return_to`` (a path of this site) makes the callback send the browser there instead of
    answering JSON, with ``?connected=<id>`` or ``?oauth_error=<message>`` added.
    """
    with _unit_of_work(session) as work:
        row = _row(work, team_id, credential_id, caller=caller)
        ensure_manage(row, caller)
        values = _oauth_values(row)
    if values.grant_type != "authorization_code":
        raise UserError("this OAuth2 credential uses the client_credentials grant: it needs no authorization; "
                        "test it instead")
    verifier = secrets.token_urlsafe(64)
    state = seal_token({"team": team_id, "credential": credential_id, "verifier": verifier,
                        "redirect_uri": redirect_uri, "actor": actor_id, "exp": int(time.time()) + STATE_TTL_S,
                        **({"return_to": return_to} if return_to else {})})
    return oauth2.authorization_url(values, redirect_uri=redirect_uri, state=state, code_verifier=verifier)


def pending_authorization(state: str) -> dict | None:
    """What ``state`` was sealed with, or None when it is forged or expired."""
    pending = open_token(state) if state else None
    if pending is None or pending.get("exp", 0) < time.time():
        return None
    return pending


def complete_authorization(state: str, code: str, *, session: Session | None = None) -> CredentialInfo:
    """Trade the provider's code for tokens and store them (encrypted) in the credential."""
    pending = pending_authorization(state)
    if pending is None:
        raise UserError("the authorization request is unknown or older than "
                        f"{STATE_TTL_S // 60} minutes; start connecting the credential again")
    with _unit_of_work(session) as work:
        row = _row(work, pending["team"], pending["credential"], lock=True)
        values = _oauth_values(row)
        try:
            fresh = oauth2.exchange_code(values, code=code, redirect_uri=pending["redirect_uri"],
                                         code_verifier=pending["verifier"])
        except CredentialProblem as exc:
            raise UserError(f"credential {row.name!r}: {_scrubbed(str(exc), values)}") from None
        stored = plain_values(fresh)
        seal_values(row, stored)
        work.flush()
        _audit(work, row, "credential.update", pending.get("actor"),
               changed=["values.access_token", "values.expires_at", "values.refresh_token"], via="oauth2")
        return _info(work, row, None, stored)


# ---- helpers ---------------------------------------------------------------------------------------------

def _row(session: Session, team_id: str, credential_id: str, *, lock: bool = False,
         caller: Caller | None = None) -> Credential:
    query = select(Credential).where(Credential.id == credential_id, Credential.team_id == team_id,
                                     visible_to(caller))
    row = session.scalar(query.with_for_update(of=Credential) if lock else query)
    if row is None:  # another team's credential, or a private one, gets the same answer as a missing one
        raise NotFound(f"credential {credential_id!r} does not exist in this team; choose another credential")
    return row


def _info(session: Session, row: Credential, caller: Caller | None, stored: dict | None = None) -> CredentialInfo:
    return describe(session, [row], caller, {row.id: stored} if stored is not None else None)[0]


def _validated(ctype: CredentialType, values: dict, name: str) -> CredentialFields:
    if not isinstance(values, dict):
        raise UserError(f"the values of credential {name!r} must be an object of field names and values")
    try:
        return ctype.Fields.model_validate(values)
    except ValidationError as exc:  # described without the input: it may be a secret
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or "values", "message": e["msg"]}
                    for e in exc.errors(include_input=False, include_url=False)]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        raise UserError(f"the values of credential {name!r} do not fit type {ctype.type!r}: {summary}",
                        details=problems) from None


def _stored_fields(ctype: CredentialType, row: Credential) -> CredentialFields:
    try:
        return ctype.Fields.model_validate(open_values(row))
    except ValidationError:
        raise UserError(f"credential {row.name!r} no longer fits type {row.type!r} (its fields changed); "
                        "edit the credential and save it again") from None


def _oauth_values(row: Credential) -> oauth2.OAuth2Fields:
    if row.type != oauth2.OAuth2.type:
        raise UserError(f"credential {row.name!r} is of type {row.type!r}; only oauth2 credentials are authorized")
    return _stored_fields(default_registry().get(row.type), row)


def _scrubbed(message: str, values: CredentialFields) -> str:
    for value in values.__dict__.values():
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
            message = message.replace(value.get_secret_value(), "***")
    return message


def _clean_name(name: str) -> str:
    cleaned = (name or "").strip()
    if not cleaned or len(cleaned) > 200:
        raise UserError("a credential name must have 1 to 200 characters")
    return cleaned


def _check_name_free(session: Session, team_id: str, name: str) -> None:
    if session.scalar(select(Credential.id).where(Credential.team_id == team_id, Credential.name == name)):
        raise Conflict(f"this team already has a credential named {name!r}; choose another name")


def _audit(session: Session, row: Credential, action: str, actor_id: str | None, **details) -> None:
    """One audit.log event in the shape backend/audit records (names and field names only, never values)."""
    emit(session, "audit.log", row.team_id, {
        "action": action, "actor_id": actor_id, "team_id": row.team_id, "object_type": "credential",
        "object_id": row.id, "details": {"name": row.name, "type": row.type, **details}})


@contextmanager
def _unit_of_work(session: Session | None) -> Iterator[Session]:
    if session is not None:
        yield session
        return
    with session_scope() as own:
        yield own


def injection_in_session(session: Session, team_id: str, credential_id: str) -> tuple[str, dict]:
    """(type, injection) of a team's credential, read in the caller's transaction (activation uses it to
    register vendor webhooks without a second connection); nothing is recorded or renewed."""
    row = _row(session, team_id, credential_id)
    ctype = default_registry().get(row.type)
    try:
        return row.type, ctype.inject(_stored_fields(ctype, row))
    except CredentialProblem as exc:
        raise UserError(f"credential {row.name!r}: {_scrubbed(str(exc), _stored_fields(ctype, row))}") from None
