"""What the engine hands a node while it runs: parameters, credentials, helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from pydantic import BaseModel

from nodes.sdk.sandbox import CodeRun


@dataclass
class ResponseSpec:
    """The HTTP answer to the webhook call that started the execution."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class WaitRequested(Exception):  # noqa: N818 - a signal to the engine, not an error
    """Raised by a node to park the execution until ``resume_at`` or a resume webhook call."""

    def __init__(self, resume_at: datetime | None, *, on_webhook: bool = False):
        super().__init__(f"wait until {resume_at}")
        self.resume_at = resume_at
        self.on_webhook = on_webhook


class NodeContext(Protocol):
    node_name: str
    execution_id: str
    mode: str  # manual | webhook | schedule | retry | test | subworkflow | error
    workflow: dict  # {"id", "name"}
    inputs: dict[str, list[dict]]  # items per input port (multi-input nodes read this)
    resume_data: dict | None  # set when a waiting node is resumed (wait node)
    settings: dict  # platform policy a node must honour, e.g. {"http_allow_private": False}

    def params(self, item_index: int = 0) -> BaseModel:
        """The node's typed parameters with ``{{ }}`` expressions evaluated for one item.

        Without expressions every item gets the same (shared) object: read it, don't change it.
        """

    def raw_parameters(self) -> dict:
        """The parameters as written in the workflow, expressions not evaluated."""

    async def credentials(self, slot: str) -> dict:
        """Decrypted values of the credential bound to ``slot`` (only inside the worker)."""

    async def run_workflow(self, workflow_id: str, items: list[dict]) -> list[dict]:
        """Run another workflow with ``items`` as its input and return its output items."""

    def respond(self, response: ResponseSpec) -> None:
        """Set the answer to the webhook call that started this execution."""

    def tools(self) -> list[dict]:
        """The nodes on this node's ``tools`` output as an LLM sees them: [{"name", "node", "description",
        "parameters" (JSON schema)}] (see backend/engine/tools.py; the AI Agent node uses it)."""

    async def call_tool(self, name: str, arguments: dict) -> dict:
        """Run the tool ``name`` with ``arguments`` as its one input item, committed as a step of that node.

        Returns {"node", "run_index", "status", "items": [json...], "error"}; the tool's failure is returned.
        """

    async def put_binary(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        """Store binary data; returns the reference to put in an item's ``binary``.

        ``data`` may be a readable binary file (e.g. a ``tempfile.SpooledTemporaryFile`` at position 0):
        it is then read in chunks, so a large file need not be held in memory. The caller closes it.
        """

    async def get_binary(self, ref: dict) -> bytes:
        """Read binary data behind a reference."""

    def open_binary(self, ref: dict) -> Iterator[bytes]:
        """The same data in chunks, read as they are consumed (blocking): for a node streaming a large file."""

    def now(self) -> datetime:
        """The current time in the workflow's timezone."""

    async def run_code(self, request: bytes, *, time_limit_s: int, memory_mb: int) -> CodeRun:
        """Run untrusted code in the platform's code sandbox (see ``nodes.sdk.sandbox``)."""
