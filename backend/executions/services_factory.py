"""Builds the EngineServices a worker hands the engine for one execution."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from backend.db.session import session_scope
from backend.engine.services import EngineServices
from backend.settings import get_settings
from backend.variables.models import Variable


def engine_services(team_id: str, execution_id: str) -> EngineServices:
    settings = get_settings()
    policy = {
        "http_allow_private": settings.http.allow_private,
        "http_allow_list": [h.strip() for h in settings.http.allow_list.split(",") if h.strip()],
    }
    services = EngineServices(variables=_team_variables(team_id), settings=policy)
    services.run_subworkflow = _subworkflow_runner(team_id, services)
    return services


def _team_variables(team_id: str) -> dict:
    with session_scope() as session:
        rows = session.execute(select(Variable.key, Variable.value).where(Variable.team_id == team_id))
        return {key: value for key, value in rows}


def _subworkflow_runner(team_id: str, services: EngineServices):
    async def run_child(workflow_id: str, items: list[dict], parent_execution_id: str) -> list[dict]:
        from backend.executions.subworkflows import run_child_execution

        return await asyncio.to_thread(run_child_execution, team_id, workflow_id, items, parent_execution_id)

    return run_child
