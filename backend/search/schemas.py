"""The HTTP shapes of search."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class SearchResult(BaseModel):
    type: Literal["workflow", "execution", "credential"]
    id: str
    title: str
    subtitle: str = ""
    status: str | None = None
    url: str  # the page of the object in the UI
    at: datetime | None = None  # updated (workflows, credentials) or started (executions)


class SearchResults(BaseModel):
    query: str
    backend: Literal["sql", "elasticsearch"]
    results: list[SearchResult]
    totals: dict[str, int]  # per type asked for: how many match (Elasticsearch counts up to 10,000)
