"""Structured JSON logs on stdout (one object per line), or plain text for humans."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from backend import tracing

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if tracing.tracer() is not None and (ids := tracing.current_ids()) is not None:
            entry["trace_id"], entry["span_id"] = ids  # Loki/Grafana link a log line to its trace by these
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _LinkFlowHandler(logging.StreamHandler):
    """Marks our handler so configuring twice replaces it and leaves others (pytest's) alone."""


class _StdoutHandler(_LinkFlowHandler):
    """Writes to whatever `sys.stdout` is when a record is logged, not the stream it was when configured
    (like logging's own last-resort handler): a replaced and closed stdout must not break logging."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.setStream; stdout is followed, not stored
        pass


def configure(level: str = "INFO", fmt: str = "json", stream=None) -> None:
    handler = _LinkFlowHandler(stream) if stream is not None else _StdoutHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, _LinkFlowHandler)] + [handler]
    root.setLevel(level.upper())
    # httpx logs every request URL at INFO; a URL can carry a credential's query parameter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
