"""What a listener trigger's ``listen(ctx)`` gets: its parameters, credentials, the address policy, and ``emit``."""

from __future__ import annotations

from typing import Any, Protocol


class ListenerContext(Protocol):
    node_name: str
    workflow_id: str
    params: Any  # the node's validated Parameters (static values: no expressions in a listener's parameters)
    settings: dict  # as NodeContext.settings: the address policy (http_allow_private, http_allow_list)

    async def credentials(self, slot: str) -> dict:
        """Decrypted values of the credential bound to ``slot``."""

    async def emit(self, items: list[dict]) -> str:
        """Start one execution with ``items`` as the trigger's output; returns its id once the execution is
        committed to the database (durably queued). Acknowledge the message to its source only after this."""

    def listening(self, detail: str = "") -> None:
        """Report that the listener is connected and waiting (shown as the trigger's status)."""
