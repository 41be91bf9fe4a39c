"""Helpers shared by the vault tests (imported as a plain module, like engine_testkit)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field


def vault_key(byte: int) -> str:
    """A valid base64 AES-256 key made of one repeated byte."""
    return base64.b64encode(bytes([byte]) * 32).decode()


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: object = field(default_factory=dict)  # dict/list: JSON; str/bytes: as is
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LocalServer:
    url: str
    seen: list[Seen]
