"""deactivate workflows whose webhook paths overlap an earlier registration of another team

Before overlapping paths were refused, a team could activate a path (or pattern) that took
requests meant for another team's webhook: ``orders/42`` or ``:a/:b`` beside ``orders/:id``.
Going through the registrations oldest first, one that overlaps a path another team
registered earlier is an intruder: its workflow is deactivated (its webhook and schedule
rows removed, as deactivation does) so that every request reaches the team that registered
the path first. Overlaps within one team are left as they are: they reach the same team.

Downgrade restores nothing: the removed registrations were the ones taking other teams'
requests.

Revision ID: 0007_webhook_overlaps
Revises: 0006_sharing_heartbeats
Create Date: 2026-12-01 09:00:00
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_webhook_overlaps"
down_revision: str | None = "0006_sharing_heartbeats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")


def _overlaps(first: str, second: str) -> bool:
    """Some request path matches both (as backend/webhooks/paths.py, frozen here for this migration)."""
    a, b = first.split("/"), second.split("/")

    def param(segment: str) -> bool:
        return len(segment) > 1 and segment.startswith(":")

    return len(a) == len(b) and all(x == y or param(x) or param(y) for x, y in zip(a, b, strict=True))


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT team_id, workflow_id, method, path FROM webhooks ORDER BY created_at, id")).all()
    kept: list = []
    intruders: set[str] = set()
    for row in rows:
        if any(k.method == row.method and k.team_id != row.team_id and _overlaps(k.path, row.path) for k in kept):
            intruders.add(row.workflow_id)
        else:
            kept.append(row)
    if not intruders:
        return
    ids = {"ids": sorted(intruders)}
    for table in ("webhooks", "schedules"):
        bind.execute(sa.text(f"DELETE FROM {table} WHERE workflow_id IN :ids")
                     .bindparams(sa.bindparam("ids", expanding=True)), ids)
    bind.execute(sa.text("UPDATE workflows SET active = :off, active_version_id = NULL WHERE id IN :ids")
                 .bindparams(sa.bindparam("ids", expanding=True), sa.bindparam("off", type_=sa.Boolean)),
                 {**ids, "off": False})
    log.warning("deactivated %d workflow(s) whose webhook paths overlapped another team's: %s",
                len(intruders), ", ".join(sorted(intruders)))


def downgrade() -> None:
    pass
