"""The schema changes only through Alembic, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import billing.storage.models  # noqa: F401
from billing.storage.db import alembic_config, include_in_schema_comparison, make_engine, migrate


def test_autogenerate_finds_no_difference_between_models_and_migrations(db):
    with db.connect() as conn:
        opts = {"compare_type": True, "include_object": include_in_schema_comparison(conn.dialect.name)}
        context = MigrationContext.configure(conn, opts=opts)
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


def test_an_interaction_must_name_a_stored_contract_and_batch_on_either_engine(db, tmp_path):
    """SQLite checks these foreign keys natively; PostgreSQL with one check per statement
    (migration 0007). Either way the database refuses orphans, whatever wrote them."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from billing.measurement import ingest
    from tests.outcome_helpers import csv_file, load_contract

    load_contract(db, tmp_path)
    ingest.import_interactions(db, csv_file(tmp_path, "i1,ACME-1,voice,c1,2026-10-01T10:00:00Z,5,false,60,human,,,,,"))
    row = (
        "INSERT INTO interaction (contract_id, interaction_id, channel, started_at, wait_seconds, abandoned, "
        "handled_by, resolved, escalated, batch_id) "
    )
    for values in (
        "999, 'x', 'voice', 1, 0, false, 'human', false, false, 1",  # no such contract
        "1, 'x', 'voice', 1, 0, false, 'human', false, false, 999",  # no such batch
    ):
        with db.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(text(row + f"VALUES ({values})"))
    with db.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(text("UPDATE interaction SET batch_id = 999"))
    with db.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(text("DELETE FROM import_batch WHERE id = 1"))
    with db.begin() as conn, pytest.raises(IntegrityError):
        conn.execute(text("UPDATE import_batch SET id = 500 WHERE id = 1"))
    with db.begin() as conn:  # a batch no interaction names can go
        conn.execute(
            text(
                "INSERT INTO import_batch (id, kind, source, started_at, imported, duplicates, rejected) "
                "VALUES (77, 'interactions', 'x', '2026-10-01 00:00:00+00', 0, 0, 0)"
            )
        )
        conn.execute(text("DELETE FROM import_batch WHERE id = 77"))
        assert conn.execute(text("SELECT count(*) FROM interaction")).scalar() == 1
