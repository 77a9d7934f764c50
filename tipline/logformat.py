"""Log lines as JSON, one object per line, for log collectors (TIPLINE_LOG_FORMAT=json).

Only fixed fields are written: the time (UTC, to the millisecond), the level, the logger, the
message and, for an error, its traceback. Whatever else a record carries (Django attaches the
request to ``django.request`` records, with its headers) is never written, so a log line holds
no more about a client than the plain format does.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)
