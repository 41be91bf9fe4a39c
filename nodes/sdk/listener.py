"""What a listener trigger's ``listen(ctx)`` gets: its parameters, credentials, the address policy, and ``emit``."""

from __future__ import annotations

from typing import Any, BinaryIO, Protocol


class ListenerContext(Protocol):
    node_name: str
    workflow_id: str
    params: Any  # the node's validated Parameters (static values: no expressions in a listener's parameters)
    settings: dict  # as NodeContext.settings: the address policy (http_allow_private, http_allow_list)

    async def credentials(self, slot: str) -> dict:
        """Decrypted values of the credential bound to ``slot``."""

    async def emit(self, items: list[dict], *, state: dict | None = None) -> str:
        """Start one execution with ``items`` as the trigger's output; returns its id once the execution is
        committed to the database (durably queued). Acknowledge the message to its source only after this.

        ``state`` (JSON-able) is saved in the same commit and is what ``load_state`` returns next time: where
        the listener got to in its source, e.g. ``{"uidvalidity": 7, "last_uid": 42}``.
        """

    async def load_state(self) -> dict:
        """The ``state`` of the last ``emit`` of this node (kept across restarts and deactivation); {} if none."""

    async def put_binary(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        """Store a file of the next message (as ``NodeContext.put_binary``); the reference goes in an item's
        ``binary``, and the file belongs to the execution the next ``emit`` starts."""

    def listening(self, detail: str = "") -> None:
        """Report that the listener is connected and waiting (shown as the trigger's status)."""
