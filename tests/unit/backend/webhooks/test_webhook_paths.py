"""Which webhook paths overlap: some request path matches both."""

from __future__ import annotations

import pytest

from backend.webhooks.paths import Pattern, literal_prefix, overlaps


@pytest.mark.parametrize(("first", "second"), [
    ("orders/:id", "orders/42"), ("orders/:id", "orders/:x"), ("orders/:id", ":a/:b"),
    (":a/items", "orders/:b"), ("a/b", "a/b"), (":a", "x"),
])
def test_overlapping_paths(first, second):
    assert overlaps(first, second) and overlaps(second, first)
    segments = [s if not s.startswith(":") else "v" for s in first.split("/")]
    concrete = [t if not t.startswith(":") else f for f, t in zip(segments, second.split("/"), strict=True)]
    # the witness: a concrete path both patterns accept
    assert Pattern.of(first).match(concrete) is not None and Pattern.of(second).match(concrete) is not None


@pytest.mark.parametrize(("first", "second"), [
    ("orders/:id", "orders/42/items"), ("orders/:id", "users/42"), ("orders", "orders/:id"), ("a/:b/c", "a/:b/d"),
    ("a:b", "a"),
])
def test_paths_that_no_request_matches_twice(first, second):
    assert not overlaps(first, second) and not overlaps(second, first)


def test_literal_prefix():
    assert [literal_prefix(p) for p in ("orders/:id/items", ":a/b", "a/b")] == ["orders", "", "a/b"]
