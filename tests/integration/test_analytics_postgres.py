"""The Insights rollups on PostgreSQL: the rebuild and the per-team queries of the unit tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
_spec = importlib.util.spec_from_file_location(
    "analytics_rebuild_cases", Path(__file__).parents[1] / "unit/backend/analytics/test_analytics_rebuild.py")
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)


def test_rebuild_on_postgresql(postgres_url, configure, capsys):
    configure(DATABASE_URL=postgres_url)
    cases.rebuild_recounts_the_days_from_since_and_leaves_earlier_days(capsys)
