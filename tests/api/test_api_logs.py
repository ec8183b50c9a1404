"""The log filter ``billing serve`` and the app install: a record that carries a secret is
masked before any handler formats it, and uvicorn's access line still formats."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from uvicorn.logging import AccessFormatter

from billing.api import create_app
from billing.api.logs import RedactSecrets, install, uvicorn_log_config

SECRET = "tok_9f8e7d6c5b4a"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False))
    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecrets())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_an_access_line_keeps_its_shape_without_the_token(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/portal?token={SECRET}&from=2026-09", "1.1", 303)
    assert stream.getvalue() == '127.0.0.1:5000 - "GET /portal?token=***&from=2026-09 HTTP/1.1" 303 See Other\n'


def test_messages_mappings_and_tracebacks_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("test.redaction.plain")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(f"Authorization: Bearer {SECRET}")
        logger.warning("headers %(h)s", {"h": {"authorization": f"Bearer {SECRET}"}})
        try:
            raise ValueError(f"bad url /portal?token={SECRET}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert SECRET not in text and "ValueError: bad url /portal?token=***" in text and "Traceback" in text


def test_the_app_and_serve_install_the_filter() -> None:
    create_app(create_engine("sqlite://"))
    install()  # twice is once
    for name in ("uvicorn.access", "uvicorn.error"):
        assert sum(isinstance(f, RedactSecrets) for f in logging.getLogger(name).filters) == 1
    config = uvicorn_log_config()
    assert all("redact_secrets" in handler["filters"] for handler in config["handlers"].values())
