"""The demo database (``billing demo``: three months of the example contracts, issued,
credited and reconciled), built once per test process on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from billing.cli.common import state
from billing.storage.db import make_engine
from tests.conftest import CONTRACTS


@pytest.fixture(scope="session")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from billing.cli.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{out / 'demo.db'}"
    before = state.db_url
    state.db_url = url
    try:
        run_demo(out, CONTRACTS, 7)
    finally:
        state.db_url = before
    return url


@pytest.fixture
def demo(demo_url: str) -> Iterator[Engine]:
    engine = make_engine(demo_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def demo_out(demo_url: str) -> Path:
    return Path(demo_url.removeprefix("sqlite:///")).parent
