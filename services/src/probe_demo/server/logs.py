"""Structured (one JSON object a line) logs for probe hits, state changes and errors."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterable

LOGGER_NAME = "probe_demo"
logger = logging.getLogger(LOGGER_NAME)

# What one log line may carry of a request's headers: a probe's httpHeaders fit easily,
# a client sending hundreds of kilobytes of headers does not make the line that large.
MAX_HEADERS = 16
MAX_HEADER_NAME = 64
MAX_HEADER_VALUE = 256


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "pid": os.getpid(),
            "event": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        return json.dumps(entry, default=str)


def configure() -> None:
    """Send probe_demo logs to stdout as JSON lines (once per process)."""
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def event(name: str, level: int = logging.INFO, **fields: object) -> None:
    logger.log(level, name, extra={"fields": fields})


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text) - limit} more)"


def bounded_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers for a log line: at most MAX_HEADERS, names and values clipped."""
    kept: dict[str, str] = {}
    dropped = 0
    for name, value in headers:
        if len(kept) < MAX_HEADERS:
            kept[_clip(name, MAX_HEADER_NAME)] = _clip(value, MAX_HEADER_VALUE)
        else:
            dropped += 1
    if dropped:
        kept["..."] = f"{dropped} more headers not logged"
    return kept
