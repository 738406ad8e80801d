"""Log output for operators: text by default, JSON lines (one object per line) for log collectors.

Structured figures travel as ``extra={"run": {...}}`` or ``extra={"alert": {...}}``: the text format shows
the message only, the JSON format adds them as fields.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_log_format(fmt: str, level: str | int = logging.INFO) -> None:
    """JSON lines on stderr when ``fmt`` is "json" ("text" changes nothing): the root logger's handlers get
    the JSON formatter; where there is none yet (a crawl process, before Scrapy, whose own root handler is
    then off: ``LOG_ENABLED``), a stderr handler at ``level`` is added. Python warnings go through it too."""
    if fmt != "json":
        return
    logging.captureWarnings(True)
    root = logging.getLogger()
    if not root.handlers:
        handler: logging.Handler = logging.StreamHandler()
        handler.setLevel(level)
        root.addHandler(handler)
        root.setLevel(logging.NOTSET)
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
