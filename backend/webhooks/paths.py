"""Webhook paths: normalised text, ``:name`` segments as path parameters, and matching.

A registered path such as ``users/:id/orders`` answers ``/webhook/users/42/orders`` with
``params == {"id": "42"}``. Paths keep their case; leading and trailing slashes are
dropped. Two paths *overlap* when some request path matches both: the same number of
segments and, segment by segment, equal text or a parameter on either side. ``orders/:id``
overlaps ``orders/42``, ``orders/:x`` and ``:a/:b``; it does not overlap ``orders/42/items``.
Two paths have the same *shape* when they are equal once parameters are renamed away.
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


def overlaps(first: str, second: str) -> bool:
    """Whether one request path can match both ``first`` and ``second`` (normalised paths)."""
    a, b = first.split("/"), second.split("/")
    return len(a) == len(b) and all(x == y or _is_param(x) or _is_param(y) for x, y in zip(a, b, strict=True))


def literal_prefix(path: str) -> str:
    """The segments before the first parameter: ``orders/:id/items`` -> ``orders``."""
    prefix = []
    for segment in path.split("/"):
        if _is_param(segment):
            break
        prefix.append(segment)
    return "/".join(prefix)


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
