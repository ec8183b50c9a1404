"""The schema changes only through Alembic, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import billing.models  # noqa: F401
from billing.db import alembic_config, make_engine, migrate


def test_autogenerate_finds_no_difference_between_models_and_migrations(db):
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_migrating_an_empty_database_creates_every_table(db):
    tables = set(inspect(db).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_migrating_twice_leaves_the_database_at_every_head(db_url):
    migrate(db_url)  # already migrated by the fixture: a second run must be a no-op, not an error
    engine = make_engine(db_url)
    with engine.connect() as conn:
        versions = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    engine.dispose()
    assert versions == set(ScriptDirectory.from_config(alembic_config(db_url)).get_heads())
