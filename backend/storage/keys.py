"""Where things live in storage: everything of a team under ``teams/<team_id>/``.

``teams/<team>/executions/<execution>/binary/<id>``       files items carry (webhook uploads, HTTP downloads, file nodes)
``teams/<team>/executions/<execution>/steps/<name>.json`` step data past the inline limit
``teams/<team>/executions/<execution>/items/<id>.ndjson.gz`` a port's items past the spill threshold

An execution's objects share one prefix, so retention deletes them with one call, and the
orphan sweeper can tell from a key which execution row it belongs to.
"""

from __future__ import annotations

import re

_ID = re.compile(r"^[0-9a-f]{32}$")
_TEAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STEP_REF_SCHEME = "storage:"  # step rows' input_ref/output_ref: "storage:<key>"; older rows hold a file path


def is_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def team_prefix(team_id: str) -> str:
    return f"teams/{_checked(team_id, 'team')}"


def execution_prefix(team_id: str, execution_id: str) -> str:
    return f"{team_prefix(team_id)}/executions/{_checked(execution_id, 'execution')}"


def binary_key(team_id: str, execution_id: str, binary_id: str) -> str:
    return f"{execution_prefix(team_id, execution_id)}/binary/{_checked(binary_id, 'binary')}"


def items_key(team_id: str, execution_id: str, spill_id: str) -> str:
    return f"{execution_prefix(team_id, execution_id)}/items/{_checked(spill_id, 'items')}.ndjson.gz"


def step_key(team_id: str, execution_id: str, node_id: str, run_index: int, kind: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", node_id)[:120] or "node"
    return f"{execution_prefix(team_id, execution_id)}/steps/{name}.{int(run_index)}.{kind}.json"


def owner_of(key: str) -> tuple[str, str] | None:
    """(team id, execution id) of a key in the layout above; None for anything else."""
    parts = key.split("/")
    if (len(parts) >= 5 and parts[0] == "teams" and _TEAM.match(parts[1]) and parts[2] == "executions"
            and is_id(parts[3])):
        return parts[1], parts[3]
    return None


def _checked(value: str, what: str) -> str:
    if not isinstance(value, str) or not _TEAM.match(value):
        raise ValueError(f"{what} id {value!r} cannot be part of a storage key")
    return value
