"""Webhook paths: normalised text, ``:name`` segments as path parameters, and matching.

A registered path such as ``users/:id/orders`` answers ``/webhook/users/42/orders`` with
``params == {"id": "42"}``. Paths keep their case; leading and trailing slashes are
dropped. Two paths clash when they have the same *shape* (parameters renamed away):
``users/:id`` and ``users/:name`` would answer exactly the same requests.
"""

from __future__ import annotations

from dataclasses import dataclass

PARAM_PREFIX = ":"


def normalise(path: str) -> str:
    return path.strip().strip("/")


def is_pattern(path: str) -> bool:
    return any(_is_param(segment) for segment in path.split("/"))


def shape(path: str) -> str:
    """``users/:id`` -> ``users/:``: what two parametrised paths share when they clash."""
    return "/".join(PARAM_PREFIX if _is_param(s) else s for s in path.split("/"))


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parametrised path, split once so matching a request is a walk over its segments."""

    segments: tuple[str, ...]

    @classmethod
    def of(cls, path: str) -> Pattern:
        return cls(tuple(path.split("/")))

    def match(self, segments: list[str]) -> dict[str, str] | None:
        if len(segments) != len(self.segments):
            return None
        params = {}
        for expected, given in zip(self.segments, segments, strict=True):
            if _is_param(expected):
                if not given:
                    return None
                params[expected[1:]] = given
            elif expected != given:
                return None
        return params


def _is_param(segment: str) -> bool:
    return len(segment) > 1 and segment.startswith(PARAM_PREFIX)
