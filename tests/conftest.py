"""Test databases. Every database test runs on SQLite and on PostgreSQL (the ``db`` fixture
is parametrized). PostgreSQL is mandatory in CI (``CI`` set): unreachable means failure;
elsewhere those tests skip with the reason.

Each test session gets its own PostgreSQL database (so parallel runs never collide),
migrated once with Alembic; each test starts from empty tables. SQLite tests get a copy of
a migrated template file.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from billing.storage.db import make_engine, migrate
from fixtures.databases import scratch_postgresql

#: Every test database pseudonymises customer ids under this key unless a test says otherwise
#: (tests of the key file remove it); subprocesses of tests inherit it.
TEST_PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef0123456789"
os.environ.setdefault("BILLING_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)

PG_ADMIN_URL = os.environ.get("BILLING_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = bool(os.environ.get("CI"))


def _pg_reachable() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    reason = _pg_reachable()
    if reason:
        if IN_CI:
            pytest.fail(f"{reason} (PostgreSQL tests are mandatory in CI)")
        pytest.skip(reason)
    with scratch_postgresql(PG_ADMIN_URL, "billing_test") as url:
        yield url


_PG_ENGINES: dict[str, Engine] = {}


def _empty_pg(url: str) -> Engine:
    engine = _PG_ENGINES.get(url)
    if engine is None:
        engine = _PG_ENGINES[url] = make_engine(url)
    with engine.begin() as conn:
        tables = [
            row[0]
            for row in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        # Issued documents, their numbering and trail refuse TRUNCATE (migration 0009); emptying
        # a scratch database between tests runs as a replica, which fires no trigger.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A URL to an empty, migrated database, on each engine in turn."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _empty_pg(url)
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    """An engine on an empty, migrated database (SQLite, then PostgreSQL)."""
    if db_url.startswith("sqlite"):
        engine = make_engine(db_url)
        yield engine
        engine.dispose()
    else:
        yield _PG_ENGINES[db_url]


@pytest.fixture
def pg_only_url(request: pytest.FixtureRequest) -> str:
    """For concurrency tests that only make sense on PostgreSQL."""
    url: str = request.getfixturevalue("pg_url")
    _empty_pg(url)
    return url


REPO = Path(__file__).resolve().parent.parent
CONTRACTS = REPO / "contracts"
GOLDEN = REPO / "fixtures" / "golden"
#: The billing entities the example contracts name (``issuer:``): loaded before them.
ENTITIES = CONTRACTS / "entities"


def load_example_entities(engine: Engine) -> None:
    from billing.contracts.entities import load_entities

    load_entities(engine, sorted(ENTITIES.glob("*.yaml")), actor="test")
