"""Whether a database can serve this version of billing, decided without loading SQLAlchemy.

``billing.storage.db.check_ready`` asks it of any engine; ``read_sqlite`` answers a read-only
query on the embedded SQLite default through the standard library alone, so a listing command
starts at once. Both give the same one-sentence refusals (``DatabaseNotReady``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: The newest migration. A database at another revision is migrated by ``billing init``
#: before any other command runs (a test checks this against Alembic's own head).
SCHEMA_HEAD = "0015"


DEFAULT_URL = "sqlite:///billing.db"


def database_url(explicit: str | None = None) -> str:
    """``--db``, else ``BILLING_DATABASE_URL``, else ``billing.db`` in the working directory
    (``postgresql://`` means psycopg 3)."""
    url = explicit or os.environ.get("BILLING_DATABASE_URL") or DEFAULT_URL
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class DatabaseNotReady(Exception):
    """The database cannot serve this version of billing: there is none, it was never
    initialised, its schema is at another revision, or it does not answer. The message is one
    sentence that names the URL (password hidden) and what to do."""


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (``sqlite:///x.db``, ``sqlite:////abs/x.db``), or None for other
    engines and in-memory databases."""
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.split("+")[0] != "sqlite":
        return None
    database = rest.split("?", 1)[0]
    database = database[1:] if database.startswith("/") else database
    return Path(database) if database and database != ":memory:" else None


def missing(shown: str) -> DatabaseNotReady:
    return DatabaseNotReady(f"no database at {shown}: run `billing init` to create it")


def not_initialised(shown: str) -> DatabaseNotReady:
    return DatabaseNotReady(f"the database at {shown} is not initialised: run `billing init`")


def schema_problem(shown: str, revisions: Iterable[str]) -> DatabaseNotReady | None:
    """Why a database at these Alembic revisions cannot serve this version, or None."""
    revisions = set(revisions)
    if revisions and all(revision > SCHEMA_HEAD for revision in revisions):
        return DatabaseNotReady(
            f"the database at {shown} was migrated by a newer version of billing (schema "
            f"{', '.join(sorted(revisions))}); this version knows up to {SCHEMA_HEAD}"
        )
    if revisions != {SCHEMA_HEAD}:
        at = ", ".join(sorted(revisions)) or "none"
        return DatabaseNotReady(
            f"the database at {shown} has schema revision {at}; this version of billing needs "
            f"{SCHEMA_HEAD}: run `billing init` to migrate it"
        )
    return None


def read_sqlite(url: str, *queries: str) -> list[list[tuple[Any, ...]]] | None:
    """The rows of each query, read-only, from the SQLite file of ``url`` once it is known to be
    ready; ``DatabaseNotReady`` when it is not. None when ``url`` is not a SQLite file or the
    standard library cannot read it (the caller then goes through SQLAlchemy, which says why)."""
    path = sqlite_file(url)
    if path is None:
        return None
    if not path.exists():
        raise missing(url)
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
    except sqlite3.Error:
        return None
    try:
        tables = connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'")
        if tables.fetchone() is None:
            raise not_initialised(url)
        problem = schema_problem(url, (row[0] for row in connection.execute("SELECT version_num FROM alembic_version")))
        if problem is not None:
            raise problem
        return [connection.execute(query).fetchall() for query in queries]
    except sqlite3.Error:
        return None
    finally:
        connection.close()
