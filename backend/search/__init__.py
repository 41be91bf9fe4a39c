"""Search: the global search box and the executions page's text search.

One interface (`SearchBackend` in service.py), two backends: SQL (the embedded default, straight from the
database) and Elasticsearch (`LINKFLOW_SEARCH_BACKEND=elasticsearch`), fed by the `search` consumer group.
"""
