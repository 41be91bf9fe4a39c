"""Errors a node raises. The engine retries transient ones, never user ones."""

from __future__ import annotations


class NodeError(Exception):
    """A node failed. ``item_index`` names the item that caused it, when one did."""

    retryable = True

    def __init__(self, message: str, *, item_index: int | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.item_index = item_index
        self.details = details or {}


class NodeUserError(NodeError):
    """Bad parameters or data (a 4xx answer, a failed check): retrying will not help."""

    retryable = False


class NodeTransientError(NodeError):
    """A timeout, a 5xx, a dropped connection: worth retrying."""

    retryable = True
