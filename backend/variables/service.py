"""Team variables ($vars in expressions): the only writer of the variables table.

Secret values are sealed before they are stored and only ever opened for a run
(``team_values``); the API shows them masked.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, UserError
from backend.events.outbox import emit
from backend.variables import sealing
from backend.variables.models import Variable

log = logging.getLogger("linkflow.variables")


def list_variables(session: Session, team_id: str) -> list[Variable]:
    return list(session.scalars(select(Variable).where(Variable.team_id == team_id).order_by(Variable.key)))


def get_variable(session: Session, team_id: str, variable_id: str) -> Variable:
    variable = session.get(Variable, variable_id)
    if variable is None or variable.team_id != team_id:
        raise NotFound(f"variable {variable_id} not found")
    return variable


def create_variable(session: Session, *, team_id: str, user_id: str | None, key: str, value: str,
                    is_secret: bool = False) -> Variable:
    """A duplicate key raises IntegrityError at the flush (the API answers 409)."""
    variable = Variable(team_id=team_id, key=key, value="", is_secret=is_secret)
    session.add(variable)
    session.flush()  # the id is part of a secret's associated data
    _store(variable, value)
    _audit(session, variable, "variable.create", user_id)
    session.flush()
    return variable


def update_variable(session: Session, variable: Variable, *, user_id: str | None, key: str | None = None,
                    value: str | None = None, is_secret: bool | None = None) -> Variable:
    if variable.is_secret and is_secret is False and value is None:
        raise UserError(f"variable {variable.key!r} is secret: send a new value to make it a plain variable "
                        "(its secret value is never revealed)")
    current = value if value is not None else _plain(variable)
    if key is not None:
        variable.key = key
    if is_secret is not None:
        variable.is_secret = is_secret
    _store(variable, current)
    _audit(session, variable, "variable.update", user_id)
    session.flush()
    return variable


def delete_variable(session: Session, variable: Variable, *, user_id: str | None) -> None:
    _audit(session, variable, "variable.delete", user_id)
    session.delete(variable)
    session.flush()


def team_values(session: Session, team_id: str) -> dict[str, str]:
    """{key: plain value} for a run's $vars. A secret that does not open is left out, and logged."""
    values = {}
    for variable in session.scalars(select(Variable).where(Variable.team_id == team_id)):
        try:
            values[variable.key] = _plain(variable)
        except UserError as exc:
            log.error("secret variable left out of $vars: %s", exc.message, extra={"team_id": team_id})
    return values


def reseal_secrets(session: Session) -> int:
    """Re-encrypt every secret variable under the vault's current key (`linkflow credentials rotate-key`).
    Raises on a secret sealed with a key that is no longer configured, so nothing half-rotates."""
    rows = session.scalars(select(Variable).where(Variable.is_secret.is_(True)).order_by(Variable.id)).all()
    for variable in rows:
        _store(variable, _plain(variable))
    return len(rows)


def _store(variable: Variable, value: str) -> None:
    variable.value = sealing.seal(variable.team_id, variable.id, value) if variable.is_secret else value


def _plain(variable: Variable) -> str:
    if not variable.is_secret:
        return variable.value
    return sealing.open_sealed(variable.team_id, variable.id, variable.value, variable.key)


def _audit(session: Session, variable: Variable, action: str, actor_id: str | None) -> None:
    emit(session, "audit.log", variable.team_id, {
        "action": action, "actor_id": actor_id, "team_id": variable.team_id, "object_type": "variable",
        "object_id": variable.id, "details": {"key": variable.key, "is_secret": variable.is_secret}})
