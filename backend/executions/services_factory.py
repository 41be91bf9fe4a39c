"""Builds the EngineServices a worker hands the engine for one execution."""

from __future__ import annotations

import asyncio
import json

from backend.credentials.runtime import credentials_resolver
from backend.db.session import session_scope
from backend.engine.services import EngineServices
from backend.outbound import node_settings
from backend.settings import get_settings
from backend.storage.binary import StorageBinaryStore
from backend.storage.service import get_storage
from backend.storage.spill import StorageItemSpill
from backend.variables.service import team_values


def engine_services(team_id: str, execution_id: str, definition: dict | None = None) -> EngineServices:
    # Only an expression can read $vars, so a definition without the word skips the query.
    wants_vars = definition is None or "$vars" in json.dumps(definition)
    services = EngineServices(variables=_team_variables(team_id) if wants_vars else {}, settings=node_settings())
    services.run_subworkflow = _subworkflow_runner(team_id, services)
    services.run_error_workflow = _error_workflow_starter(team_id)
    services.credentials = credentials_resolver(team_id, execution_id)
    # Binary data lives in storage, not in step rows, so files a webhook received reach queued runs.
    services.binary = StorageBinaryStore(get_storage(), team_id, execution_id)
    # Items past the spill threshold go to storage too, before their step is committed (engine/items.py).
    services.spill = StorageItemSpill(get_storage(), team_id, execution_id)
    services.spill_threshold_bytes = get_settings().storage.spill_threshold_bytes
    return services


def _team_variables(team_id: str) -> dict:
    with session_scope() as session:
        return team_values(session, team_id)  # secrets opened here, for the run only


def _subworkflow_runner(team_id: str, services: EngineServices):
    async def run_child(workflow_id: str, items: list[dict], parent_execution_id: str) -> list[dict]:
        from backend.executions.subworkflows import run_child_execution

        return await asyncio.to_thread(run_child_execution, team_id, workflow_id, items, parent_execution_id)

    return run_child


def _error_workflow_starter(team_id: str):
    async def start(error_workflow_id: str, payload: dict) -> None:
        from backend.executions.subworkflows import start_error_workflow

        await asyncio.to_thread(start_error_workflow, team_id, error_workflow_id, payload)

    return start
