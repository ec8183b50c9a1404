"""Engines, sessions and migrations. The database URL is ``--db``, ``BILLING_DATABASE_URL``
or a SQLite file in the working directory.

Only the service layer opens transactions (``transaction``); repository functions take a
session and never commit.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from sqlmodel import Session

DEFAULT_URL = "sqlite:///billing.db"
READ_ONLY = "billing_read_only"
MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
#: The newest migration. A database at another revision is migrated by ``billing init``
#: before any other command runs (a test checks this against Alembic's own head).
SCHEMA_HEAD = "0013"


def database_url(explicit: str | None = None) -> str:
    url = explicit or os.environ.get("BILLING_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


_engines: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process (SQLite: WAL, foreign keys, a busy timeout)."""
    url = database_url(url)
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "isolation_level": None}, poolclass=NullPool, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """SQLite in autocommit mode at the driver, with explicit BEGIN IMMEDIATE emitted by
    SQLAlchemy: a writer takes the lock up front instead of failing to upgrade later."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        # A bounded page cache (256 MiB). Temporary sort trees stay on disk (the default), so
        # a window function over millions of rows cannot grow memory with the data.
        cursor.execute("PRAGMA cache_size=-262144")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers take a deferred BEGIN: in WAL mode they read a snapshot and never block a writer.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def is_sqlite(session: Session) -> bool:
    """Whether the session's database is SQLite (else PostgreSQL)."""
    return session.get_bind().dialect.name == "sqlite"


@contextmanager
def transaction_on(connection: Connection) -> Iterator[Session]:
    """Like ``transaction``, on a connection the caller keeps open across many transactions (an
    import writes every chunk through one connection: SQLite keeps its page cache, and a chunk
    staged in a file can be attached before its transaction begins)."""
    from sqlmodel import Session

    with connection.begin(), Session(bind=connection, expire_on_commit=False) as session:
        yield session
        session.flush()


@contextmanager
def reading(engine: Engine, snapshot: bool = False) -> Iterator[Session]:
    """A session for reads; nothing it does is committed. Closing (not rolling back) keeps
    the loaded objects readable after the block.

    ``snapshot``: every statement sees the same committed state (PostgreSQL REPEATABLE READ;
    a SQLite read transaction in WAL mode is a snapshot already), for work that must read
    measurements and the newest import batch consistently while imports run."""
    from sqlmodel import Session

    with Session(engine, expire_on_commit=False) as session:
        options: dict[str, Any] = {READ_ONLY: True}
        if snapshot and engine.dialect.name == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        session.connection(execution_options=options)
        yield session


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def include_in_schema_comparison(dialect_name: str) -> Any:
    """Alembic's ``include_object`` for comparing the models with a database: on PostgreSQL the
    foreign keys of ``billing.storage.models.SET_CHECKED_FOREIGN_KEYS`` are triggers, not constraints."""
    from billing.storage.models import SET_CHECKED_FOREIGN_KEYS

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if dialect_name == "postgresql" and type_ == "foreign_key_constraint" and not reflected:
            columns = tuple(obj.column_keys)
            return not (len(columns) == 1 and (obj.table.name, columns[0]) in SET_CHECKED_FOREIGN_KEYS)
        return True

    return include


def migrate(url: str | None = None, revision: str = "heads") -> None:
    """Create or upgrade the schema with Alembic (``billing init``)."""
    from alembic import command

    url = database_url(url)
    command.upgrade(alembic_config(url), revision)


class DatabaseNotReady(Exception):
    """The database cannot serve this version of billing: there is none, it was never
    initialised, its schema is at another revision, or it does not answer. The message is one
    sentence that names the URL (password hidden) and what to do."""


def redacted(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL is shown by its scheme only
        return url.split(":", 1)[0] + ":..."


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other engines and in-memory databases)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_ready(engine: Engine) -> None:
    """Raise ``DatabaseNotReady`` unless the database exists, answers, and has this version's
    schema. A missing SQLite file is not created."""
    from sqlalchemy.exc import DBAPIError

    url = engine.url.render_as_string(hide_password=False)
    shown = redacted(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise DatabaseNotReady(f"no database at {shown}: run `billing init` to create it")
    try:
        with engine.connect() as connection:
            if not engine.dialect.has_table(connection, "alembic_version"):
                raise DatabaseNotReady(f"the database at {shown} is not initialised: run `billing init`")
            revisions = {row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version")}
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DatabaseNotReady(f"cannot reach the database at {shown}: {reason}") from None
    if revisions and all(revision > SCHEMA_HEAD for revision in revisions):
        raise DatabaseNotReady(
            f"the database at {shown} was migrated by a newer version of billing (schema "
            f"{', '.join(sorted(revisions))}); this version knows up to {SCHEMA_HEAD}"
        )
    if revisions != {SCHEMA_HEAD}:
        at = ", ".join(sorted(revisions)) or "none"
        raise DatabaseNotReady(
            f"the database at {shown} has schema revision {at}; this version of billing needs "
            f"{SCHEMA_HEAD}: run `billing init` to migrate it"
        )
