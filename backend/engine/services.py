"""What the platform hands the engine for one run: identity, ports and policy.

Everything that touches the outside world (credentials, sub-workflows, binary storage,
the clock, sleeping) comes in through ``EngineServices`` so the runtime itself stays
pure and tests can replace each piece with a fake.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import BinaryIO, Protocol

from backend.engine.items import ItemSpill, TempFileSpill
from nodes.sdk import CodeSandbox, NodeRegistry, NodeUserError, default_registry

CredentialsResolver = Callable[[str, str], Awaitable[dict]]  # (credential_id, node_name) -> values
SubworkflowRunner = Callable[[str, list[dict], str], Awaitable[list[dict]]]  # (workflow_id, items, parent_id)
ErrorWorkflowHook = Callable[[str, dict], Awaitable[None]]  # (error_workflow_id, payload)


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    id: str
    mode: str = "manual"  # manual | webhook | schedule | retry | test | subworkflow | error
    workflow_id: str | None = None
    workflow_name: str = ""
    resume_url: str = ""  # signed /webhook-waiting URL of this execution ($execution.resume_url); "" in local runs


class BinaryStore(Protocol):
    async def put(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        """Store ``data`` (bytes, or a binary file read in chunks); returns the reference an item carries."""

    async def get(self, ref: dict) -> bytes:
        """The bytes behind a reference returned by ``put``."""

    def open(self, ref: dict) -> Iterator[bytes]:
        """The same bytes in chunks (blocking reads), for nodes that stream a large file."""


class InMemoryBinaryStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, data: bytes | BinaryIO, *, mime_type: str, file_name: str = "") -> dict:
        key = uuid.uuid4().hex
        data = self.blobs[key] = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else data.read()
        return {"id": key, "mime_type": mime_type, "file_name": file_name, "size": len(data)}

    async def get(self, ref: dict) -> bytes:
        try:
            return self.blobs[ref["id"]]
        except (KeyError, TypeError):
            raise NodeUserError(f"binary data {ref!r} does not exist (or was stored by another run)") from None

    def open(self, ref: dict) -> Iterator[bytes]:
        try:
            data = self.blobs[ref["id"]]
        except (KeyError, TypeError):
            raise NodeUserError(f"binary data {ref!r} does not exist (or was stored by another run)") from None
        return (data[start:start + 1024 * 1024] for start in range(0, len(data), 1024 * 1024))


async def _no_credentials(credential_id: str, node_name: str) -> dict:
    raise NodeUserError(
        f"credentials are not available in this run (node {node_name!r} asked for {credential_id!r}); "
        "run the workflow through a worker that has the vault configured"
    )


async def _no_subworkflows(workflow_id: str, items: list[dict], parent_execution_id: str) -> list[dict]:
    raise NodeUserError(f"sub-workflows are not available in this run (asked for workflow {workflow_id!r})")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _configured_code_sandbox() -> CodeSandbox:
    from backend.sandbox import code_sandbox  # the process-wide one, chosen by LINKFLOW_CODE_SANDBOX

    return code_sandbox()


def _default_settings() -> dict:
    return {"http_allow_private": False, "http_allow_list": []}


@dataclass
class EngineServices:
    registry: NodeRegistry = field(default_factory=default_registry)
    credentials: CredentialsResolver = _no_credentials
    run_subworkflow: SubworkflowRunner = _no_subworkflows
    run_error_workflow: ErrorWorkflowHook | None = None
    binary: BinaryStore = field(default_factory=InMemoryBinaryStore)
    variables: dict = field(default_factory=dict)
    settings: dict = field(default_factory=_default_settings)  # platform policy nodes must honour
    clock: Callable[[], datetime] = utc_now  # must return an aware datetime
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # retry waits go through here
    max_loop_iterations: int = 10_000  # batches one loop node may emit in one activation
    code_sandbox: CodeSandbox = field(default_factory=_configured_code_sandbox)  # where Code nodes run
    # A port's items whose JSON text is larger than this go to ``spill`` and are read back in batches (items.py).
    spill: ItemSpill | None = field(default_factory=TempFileSpill)
    spill_threshold_bytes: int = 16 * 1024 * 1024
