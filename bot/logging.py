"""Logging set-up: human-readable text or one JSON object a line (LOG_FORMAT=json).

Logs carry ids and codes, never personal data: no names, phones, e-mails or message texts. Code
logs ids (update id, resident id, account id) only; as a safety net every record passes a filter
that masks anything shaped like a phone number or an e-mail address, and the database engine hides
SQL parameters in its errors.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from typing import Any

# +79991234567, +7 (999) 123-45-67, 8 999 123 45 67: international numbers and Russian 11-digit
# ones. Ids (update, chat, account) are kept: they are what a log is for.
_PHONE = re.compile(
    r"\+\d(?:[\s\-()]*\d){9,14}(?!\d)"
    r"|(?<![\w.])[78][\s\-(]*\d{3}[\s\-)]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}(?![\w.])"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# Attributes every LogRecord has; anything else came through `extra=` and goes into the JSON.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    return _EMAIL.sub("<email>", _PHONE.sub("<phone>", text))


class RedactingFilter(logging.Filter):
    """Masks phones and e-mails in the rendered message (the safety net, not the policy)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "process": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            # The exception's class and where it happened. Its message may quote user input or
            # SQL parameters, so the traceback is rendered only at DEBUG.
            entry["exc_type"] = record.exc_info[0].__name__
            if record.levelno <= logging.DEBUG or logging.getLogger().isEnabledFor(logging.DEBUG):
                entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class _Handler(logging.StreamHandler):
    """The handler `configure` installs (told apart from handlers others installed)."""


def configure(level: str = "INFO", fmt: str = "text", stream: Any = None) -> None:
    # aiogram logs every update at INFO with user ids; aiohttp's access log has client addresses.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Alembic announces every migration check at INFO; every command checks on start.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root = logging.getLogger()
    if stream is None and any(not isinstance(h, _Handler) for h in root.handlers):
        return  # as logging.basicConfig: whoever set up logging first (pytest, a host) keeps it
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    handler = _Handler(stream or sys.stderr)
    handler.addFilter(RedactingFilter())
    if fmt.lower() == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level.upper())
