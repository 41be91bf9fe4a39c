"""The Elasticsearch side of search: index templates, bulk writes, and team-filtered queries.

Indices (`LINKFLOW_SEARCH_INDEX_PREFIX`, default `linkflow`):
  <prefix>-workflows                one index, a document per workflow
  <prefix>-executions-YYYY.MM       one per month of the execution's creation, so retention drops whole
  <prefix>-audit-YYYY.MM            months; the odd document is deleted by id. Nothing here needs
                                    _delete_by_query, _reindex, scripts or ingest pipelines.
Every query carries a `team_id` term filter built here from the caller's team, never from the query text,
and the text goes to `multi_match` (no query syntax): `team_id:other` is only words to look for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backend.search.documents import AUDIT, EXECUTION, WORKFLOW
from backend.settings import SearchSettings, get_settings

log = logging.getLogger("linkflow.search")

_KEYWORD = {"type": "keyword", "ignore_above": 256}
_TEXT = {"type": "text"}
_DATE = {"type": "date"}
MAPPINGS = {
    WORKFLOW: {"id": _KEYWORD, "team_id": _KEYWORD, "active": {"type": "boolean"}, "updated_at": _DATE,
               "name": {"type": "text", "fields": {"raw": _KEYWORD}}, "description": _TEXT,
               "tags": {"type": "keyword", "ignore_above": 256, "fields": {"text": _TEXT}},
               "node_types": {"type": "keyword", "ignore_above": 256, "fields": {"text": _TEXT}},
               "node_names": _TEXT},
    EXECUTION: {"id": _KEYWORD, "team_id": _KEYWORD, "workflow_id": _KEYWORD, "workflow_name": _TEXT,
                "status": _KEYWORD, "mode": _KEYWORD, "created_at": _DATE, "started_at": _DATE,
                "finished_at": _DATE, "error_message": _TEXT, "trigger_data": _TEXT, "output": _TEXT,
                "errors": _TEXT, "truncated": {"type": "boolean"}},
    AUDIT: {"id": _KEYWORD, "team_id": _KEYWORD, "action": {"type": "keyword", "fields": {"text": _TEXT}},
            "actor_id": _KEYWORD, "object_type": _KEYWORD, "object_id": _KEYWORD, "details": _TEXT,
            "created_at": _DATE},
}
TEXT_FIELDS = {
    WORKFLOW: ["name^4", "description^2", "tags.text^2", "node_names", "node_types.text"],
    EXECUTION: ["workflow_name^2", "error_message^2", "trigger_data", "output", "errors"],
    AUDIT: ["action.text^2", "details"],
}
# Stored newest first, so "newest first" pages stop early instead of sorting every match.
INDEX_SORT = {EXECUTION: {"index.sort.field": "started_at", "index.sort.order": "desc"},
              AUDIT: {"index.sort.field": "created_at", "index.sort.order": "desc"}}
MAX_COUNT = 10_000  # totals are counted exactly up to this, then reported as this
ID_FIELDS = {WORKFLOW: ["id"], EXECUTION: ["id", "workflow_id"], AUDIT: ["id", "object_id"]}


class SearchUnavailable(Exception):
    """Elasticsearch did not answer or refused: transient for consumers, 503 for the API."""


@dataclass(frozen=True)
class Hit:
    kind: str
    id: str
    index: str
    source: dict


class ElasticIndex:
    def __init__(self, settings: SearchSettings | None = None, client=None) -> None:
        self.settings = settings or get_settings().search
        self.prefix = self.settings.index_prefix
        self._client = client
        self._templates_ready = False

    @property
    def client(self):
        if self._client is None:
            from elasticsearch import Elasticsearch

            self._client = Elasticsearch(self.settings.elasticsearch_url, request_timeout=self.settings.timeout_s,
                                         retry_on_timeout=True, max_retries=2)
        return self._client

    # ---------------------------------------------------------------- names --

    def index_for(self, kind: str, moment: str | None = None) -> str:
        if kind == WORKFLOW:
            return f"{self.prefix}-workflows"
        month = (moment or datetime.now(UTC).isoformat())[:7].replace("-", ".")
        return f"{self.prefix}-{_plural(kind)}-{month}"

    def pattern(self, kind: str) -> str:
        return f"{self.prefix}-workflows" if kind == WORKFLOW else f"{self.prefix}-{_plural(kind)}-*"

    # ------------------------------------------------------------ templates --

    def ensure_templates(self) -> None:
        """Create or update the index templates (idempotent) and the workflows index."""
        if self._templates_ready:
            return
        for kind, mapping in MAPPINGS.items():
            settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "1s",
                        "index.codec": "best_compression", **INDEX_SORT.get(kind, {})}
            self._call(self.client.indices.put_index_template, name=f"{self.prefix}-{_plural(kind)}",
                       index_patterns=[self.pattern(kind)], priority=200,
                       template={"settings": settings, "mappings": {"dynamic": "strict", "properties": mapping}})
        if not self._call(self.client.indices.exists, index=self.index_for(WORKFLOW)):
            self._call(self.client.options(ignore_status=400).indices.create, index=self.index_for(WORKFLOW))
        self._templates_ready = True

    # --------------------------------------------------------------- writes --

    def bulk(self, actions: Sequence[tuple[str, str, str, dict | None]]) -> dict[int, str]:
        """`actions` are (op, index, id, document): op "index" or "delete". Returns {position: reason} of
        the documents Elasticsearch refused for good (a 4xx other than 404/409/429); raises
        SearchUnavailable when the request failed or some documents should simply be retried."""
        if not actions:
            return {}
        self.ensure_templates()
        operations: list[dict] = []
        for op, index, doc_id, doc in actions:
            operations.append({op: {"_index": index, "_id": doc_id}})
            if op == "index":
                operations.append(doc)
        response = self._call(self.client.bulk, operations=operations)
        refused: dict[int, str] = {}
        retry = []
        for position, item in enumerate(response["items"]):
            result = next(iter(item.values()))
            status = result.get("status", 500)
            if status < 300 or status == 404:  # deleting what is not there is done too
                continue
            if status in (409, 429) or status >= 500:
                retry.append(position)
            else:
                error = result.get("error") or {}
                refused[position] = f"{error.get('type', status)}: {error.get('reason', '')}"[:1000]
        if retry:
            raise SearchUnavailable(f"Elasticsearch asked to retry {len(retry)} of {len(actions)} documents")
        return refused

    def delete_ids(self, kind: str, ids: Iterable[str]) -> None:
        """Delete documents by id wherever they are (executions and audit entries live in monthly indices)."""
        ids = list(ids)
        if not ids:
            return
        found = self._call(self.client.search, index=self.pattern(kind), ignore_unavailable=True,
                           allow_no_indices=True, size=len(ids), source=False,
                           query={"ids": {"values": ids}})
        self.bulk([("delete", hit["_index"], hit["_id"], None) for hit in found["hits"]["hits"]])

    def drop_indices_before(self, kind: str, before: datetime) -> list[str]:
        """Drop the monthly indices whose whole month ended before `before`; their names."""
        names = self._call(self.client.options(ignore_status=404).indices.get_alias, index=self.pattern(kind))
        cutoff = f"{before.year:04d}.{before.month:02d}"
        old = sorted(name for name in (names.body if hasattr(names, "body") else names)
                     if name.rsplit("-", 1)[-1] < cutoff)
        for name in old:
            self._call(self.client.indices.delete, index=name, ignore_unavailable=True)
        return old

    def refresh(self) -> None:
        self._call(self.client.indices.refresh, index=f"{self.prefix}-*", ignore_unavailable=True,
                   allow_no_indices=True)

    # -------------------------------------------------------------- queries --

    def search(self, team_id: str, text: str, kinds: Sequence[str], limit: int,
               filters: Sequence[dict] = ()) -> dict[str, tuple[list[Hit], int]]:
        """Per kind: the best `limit` hits of the team's documents for `text`, and how many match."""
        if not kinds:
            return {}
        self.ensure_templates()
        searches: list[dict] = []
        for kind in kinds:
            searches += [{"index": self.pattern(kind), "ignore_unavailable": True, "allow_no_indices": True},
                         {"size": limit, "track_total_hits": MAX_COUNT, "_source": True,
                          "query": self.team_query(team_id, kind, text, filters)}]
        response = self._call(self.client.msearch, searches=searches)
        out: dict[str, tuple[list[Hit], int]] = {}
        for kind, answer in zip(kinds, response["responses"], strict=True):
            if "error" in answer:
                raise SearchUnavailable(f"Elasticsearch refused the {kind} search: {answer['error']}")
            hits = [Hit(kind, h["_id"], h["_index"], h["_source"]) for h in answer["hits"]["hits"]]
            out[kind] = (hits, answer["hits"]["total"]["value"])
        return out

    def search_executions(self, team_id: str, text: str, filters: Sequence[dict], limit: int,
                          offset: int) -> tuple[list[str], int]:
        """The executions page: ids newest first, and how many match (at most MAX_COUNT)."""
        self.ensure_templates()
        response = self._call(self.client.search, index=self.pattern(EXECUTION), ignore_unavailable=True,
                              allow_no_indices=True, from_=offset, size=limit, source=False,
                              track_total_hits=MAX_COUNT, sort=[{"started_at": "desc"}],
                              query=self.team_query(team_id, EXECUTION, text, filters, operator="and"))
        return [hit["_id"] for hit in response["hits"]["hits"]], response["hits"]["total"]["value"]

    def team_query(self, team_id: str, kind: str, text: str, filters: Sequence[dict] = (),
                   operator: str = "and") -> dict:
        if not team_id:
            raise ValueError("a search needs the caller's team")
        must = {"bool": {"should": [
            {"multi_match": {"query": text, "type": "bool_prefix", "operator": operator,
                             "fields": TEXT_FIELDS[kind]}},
            *({"term": {field: text.strip()}} for field in ID_FIELDS[kind]),
        ], "minimum_should_match": 1}}
        retention = self._retention_filter(kind)
        return {"bool": {"filter": [{"term": {"team_id": team_id}}, *retention, *filters], "must": [must]}}

    def _retention_filter(self, kind: str) -> list[dict]:
        """Executions older than LINKFLOW_EXECUTIONS_RETENTION_DAYS are gone from the database; the rest of
        their month's index waits to be dropped, and is never shown meanwhile."""
        days = get_settings().executions.retention_days
        if kind != EXECUTION or not days:
            return []
        since = datetime.now(UTC) - timedelta(days=days)
        return [{"range": {"started_at": {"gte": since.isoformat()}}}]

    # --------------------------------------------------------------- errors --

    def _call(self, method, **kwargs):
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import ApiError

        try:
            return method(**kwargs)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise SearchUnavailable(f"Elasticsearch at {self.settings.elasticsearch_url} did not answer ({exc}); "
                                    "check LINKFLOW_SEARCH_ELASTICSEARCH_URL and that the cluster runs") from exc
        except ApiError as exc:
            raise SearchUnavailable(f"Elasticsearch refused the request ({exc.meta.status}): {exc}"[:2000]) from exc


def _plural(kind: str) -> str:
    return {EXECUTION: "executions", AUDIT: "audit", WORKFLOW: "workflows"}[kind]


_index: ElasticIndex | None = None


def get_index() -> ElasticIndex:
    """The process's index client, made again when the search settings changed."""
    global _index
    settings = get_settings().search
    if _index is None or _index.settings != settings:
        _index = ElasticIndex(settings)
    return _index
