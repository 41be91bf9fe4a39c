"""The workflow JSON format as pydantic models.

Settings (of the workflow and of each node) reject unknown keys, so a typo such as
``"retrys"`` is reported instead of silently ignored. ``parameters`` stay free-form
here: each node type's own ``Parameters`` model checks them (see ``validate.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrySettings(_Strict):
    max_tries: int = Field(1, ge=1, le=100, description="Attempts in total; 1 means no retry")
    wait_ms: int = Field(1000, ge=0, description="Wait before the first retry")
    backoff: Literal["fixed", "exponential"] = "fixed"
    max_wait_ms: int | None = Field(None, ge=0, description="Upper bound of one wait")
    # True takes up to the whole wait off at random (full jitter); a fraction takes up to that share.
    jitter: bool | float = False

    @field_validator("jitter")
    @classmethod
    def _jitter_is_a_fraction(cls, value: bool | float) -> bool | float:
        if not isinstance(value, bool) and not 0 <= value <= 1:
            raise ValueError("jitter is true, false or a fraction between 0 and 1")
        return value

    @property
    def jitter_fraction(self) -> float:
        if isinstance(self.jitter, bool):
            return 1.0 if self.jitter else 0.0
        return float(self.jitter)


class NodeSettings(_Strict):
    retry: RetrySettings = Field(default_factory=RetrySettings)
    timeout_s: float | None = Field(None, gt=0)
    on_error: Literal["stop", "continue", "error_output"] = "stop"
    always_output: bool = False


class NodeDefinition(_Strict):
    id: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    type: str
    version: int = Field(1, ge=1)
    position: tuple[float, float] = (0.0, 0.0)
    parameters: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, str] = Field(default_factory=dict)  # slot -> credential id
    settings: NodeSettings = Field(default_factory=NodeSettings)
    disabled: bool = False
    notes: str = ""


class Connection(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from")
    output: str = "main"
    to: str
    input: str = "main"


class WorkflowSettings(_Strict):
    timezone: str = "UTC"
    error_workflow_id: str | None = None
    timeout_s: float | None = Field(None, gt=0)
    save_data: Literal["all", "errors", "none"] = "all"
    concurrency: int | None = Field(None, ge=1)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/Berlin'"
            ) from None
        return value


class WorkflowDefinition(BaseModel):
    # Top-level keys other than these (an id, tags, sticky notes) belong to the service layer: ignored here.
    model_config = ConfigDict(extra="ignore")

    name: str = ""
    nodes: list[NodeDefinition] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    settings: WorkflowSettings = Field(default_factory=WorkflowSettings)
    # Node name -> items its first output sends in editor runs instead of running it (pins.py).
    pin_data: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
