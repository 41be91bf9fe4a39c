"""Fixtures of the engine tests: a fresh harness and clean call counters for each test."""

from __future__ import annotations

import engine_testkit
import pytest


@pytest.fixture(autouse=True)
def clean_counters():
    engine_testkit.CALLS.clear()
    engine_testkit.SEEN.clear()
    engine_testkit.EMITTED.clear()
    yield


@pytest.fixture
def harness() -> engine_testkit.Harness:
    return engine_testkit.Harness()
