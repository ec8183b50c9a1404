"""No secret in a log line: a logging filter that masks them (``billing.core.redaction``).

``RedactSecrets`` rewrites a record before any handler formats it: the message, each of its
arguments (uvicorn's access line is ``%s - "%s %s HTTP/%s" %d`` with the path and query as
an argument, so a direct hit on ``/portal?token=...`` is logged with ``token=***``), and the
text of an attached traceback. Arguments without a secret keep their type, so ``%d`` still
formats.

``install()`` puts it on uvicorn's and our loggers (the app does this when it is created,
whoever serves it); ``uvicorn_log_config()`` is uvicorn's logging configuration with the
filter on its handlers too, so every record they write (from any logger) is masked:
``billing serve`` uses it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from billing.core.redaction import redact

#: Loggers whose own records are filtered (a logger's filter does not see its children's).
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "billing", "fastapi", "stripe")


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        elif record.msg is not None:
            record.msg = _clean(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, Mapping):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    masked = redact(text)
    return value if masked == text else masked


def install() -> None:
    """Put the filter on ``LOGGERS`` (once each)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
            logger.addFilter(RedactSecrets())


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with ``RedactSecrets`` on its handlers and our
    own ``billing`` logger written through them."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": "billing.api.logs.RedactSecrets"}
    for handler in config["handlers"].values():
        handler["filters"] = [*handler.get("filters", []), "redact_secrets"]
    config["loggers"]["billing"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
