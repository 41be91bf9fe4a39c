"""The engine's credentials port for one run: ``resolve_for_node`` in a thread, errors as node errors.

Only the injection dict reaches the node. Failures become ``NodeUserError`` (never
retried) or ``NodeTransientError`` (retried) with the vault's value-free message; an
unexpected failure is logged by type and stack frames only, without its message, since
a library's message could quote what it was handed.
"""

from __future__ import annotations

import asyncio
import logging
import traceback

from backend.credentials.service import resolve_for_node
from backend.engine.services import CredentialsResolver
from backend.errors import TransientError, UserError
from nodes.sdk import NodeTransientError, NodeUserError

log = logging.getLogger("linkflow.credentials")


def credentials_resolver(team_id: str, execution_id: str) -> CredentialsResolver:
    used: set[str] = set()  # audited once per run and credential, not once per item of a loop

    async def resolve(credential_id: str, node_name: str) -> dict:
        try:
            injection = await asyncio.to_thread(resolve_for_node, team_id, credential_id, node_name=node_name,
                                                execution_id=execution_id, record_use=credential_id not in used)
            used.add(credential_id)
            return injection
        except UserError as exc:
            raise NodeUserError(f"node {node_name!r}: {exc.message}") from None
        except TransientError as exc:
            raise NodeTransientError(f"node {node_name!r}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - reported without its message (see module docstring)
            log.error("resolving credential %s for node %r failed with %s", credential_id, node_name,
                      type(exc).__name__, extra={"execution_id": execution_id,
                                                 "frames": "".join(traceback.format_tb(exc.__traceback__))})
            raise NodeTransientError(f"node {node_name!r}: credential {credential_id!r} could not be loaded "
                                     f"({type(exc).__name__}); the error was logged") from None

    return resolve
