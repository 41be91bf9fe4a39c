"""The one registry of node types, filled from the ``linkflow.nodes`` entry points."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib.metadata import entry_points

from nodes.sdk.node import Node

ENTRY_POINT_GROUP = "linkflow.nodes"


class UnknownNodeType(LookupError):  # noqa: N818
    pass


class NodeRegistry:
    def __init__(self, node_classes: Iterable[type[Node]] = ()) -> None:
        self._by_key: dict[tuple[str, int], type[Node]] = {}
        for cls in node_classes:
            self.add(cls)

    def add(self, cls: type[Node]) -> None:
        key = (cls.type, cls.version)
        existing = self._by_key.get(key)
        if existing is not None and existing is not cls:
            raise ValueError(
                f"node type {cls.type!r} version {cls.version} is declared twice: "
                f"{existing.__module__}.{existing.__qualname__} and {cls.__module__}.{cls.__qualname__}; "
                "give the new one another type name or a higher version"
            )
        self._by_key[key] = cls

    def get(self, type_name: str, version: int | None = None) -> type[Node]:
        if version is None:
            versions = [v for (t, v) in self._by_key if t == type_name]
            if not versions:
                raise UnknownNodeType(f"unknown node type {type_name!r}")
            version = max(versions)
        try:
            return self._by_key[(type_name, version)]
        except KeyError:
            raise UnknownNodeType(f"unknown node type {type_name!r} version {version}") from None

    def has(self, type_name: str, version: int | None = None) -> bool:
        try:
            self.get(type_name, version)
            return True
        except UnknownNodeType:
            return False

    def all(self) -> list[type[Node]]:
        return sorted(self._by_key.values(), key=lambda c: (c.group, c.type, c.version))

    def catalog(self) -> list[dict]:
        return [cls.describe() for cls in self.all()]


def load_entry_points() -> NodeRegistry:
    registry = NodeRegistry()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        for cls in ep.load():
            registry.add(cls)
    return registry


@functools.cache
def default_registry() -> NodeRegistry:
    """Every installed node type (built-in and from other packages)."""
    return load_entry_points()
