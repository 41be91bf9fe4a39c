"""Whether this process's code sandbox works: shown in /ready, the admin console and worker heartbeats."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SandboxStatus:
    mode: str  # bwrap | remote | unsafe_process | container
    ok: bool
    detail: str  # what isolates the code, or what is wrong and what to do

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return f"{self.mode}: {'ok' if self.ok else 'failing'} ({self.detail})"
