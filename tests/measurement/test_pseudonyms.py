"""Customer ids are pseudonymised at import (issue 15, item 4): no byte of the database holds
an id as it was sent (rejected rows included), the repeat-contact rule links the same contacts
as before, the key is the deployment's and its file is owner-only, and a migration pseudonymises
what older versions stored."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session
from typer.testing import CliRunner

from billing.measurement import ingest
from billing.measurement.pseudonyms import PSEUDONYM, Pseudonymizer, ensure_key_file, load_key
from billing.storage.db import make_engine, migrate
from billing.storage.models import Interaction, RejectedRow
from tests.outcome_helpers import HEADER, load_contract, opened, outcomes_of, pseudonym

#: Customer ids no other text of a test database could hold by chance.
RAW = [f"SECRET-CUSTOMER-{n:03d}-XYZ" for n in range(12)]


def interactions_file(tmp_path, name: str = "private.csv"):
    """36 contacts of 12 customers, three each, a day apart (so resolutions repeat within 7
    days), and bad rows holding raw ids: a bad timestamp (read into values), a NUL (not read),
    a wrong number of fields (not read)."""
    lines = [HEADER]
    for n in range(36):
        customer = RAW[n % 12]
        day = 1 + n // 12 * 3
        lines.append(f"p{n},ACME-1,voice,{customer},2026-10-{day:02d}T10:{n:02d}:00Z,5,false,60,human,true,false,,,")
    lines.append(f"bad1,ACME-1,voice,{RAW[0]},yesterday,5,false,60,human,true,false,,,")
    lines.append(f"bad2,ACME-1,voice,{RAW[1]}\x00,2026-10-02T10:00:00Z,5,false,60,human,true,false,,,")
    lines.append(f"bad3,ACME-1,voice,{RAW[2]},2026-10-02T10:00:00Z,5,false")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_no_byte_of_the_database_holds_a_customer_id_as_sent(db_url, db, tmp_path):
    load_contract(db, tmp_path)
    summary = ingest.import_interactions(db, interactions_file(tmp_path))
    assert (summary.imported, summary.rejected) == (36, 3)
    assert all(r not in str(p) for p in summary.errors for r in RAW)
    with Session(db) as s:
        stored = set(s.execute(select(Interaction.customer_id)).scalars())
        kept = list(s.execute(select(RejectedRow).order_by(RejectedRow.row_number)).scalars())
    assert stored == {pseudonym("ACME-1", r) for r in RAW}
    assert all(PSEUDONYM.fullmatch(value) for value in stored)
    assert [r.raw_format for r in kept] == [None, "sealed", "sealed"]
    assert pseudonym("ACME-1", RAW[0]) in kept[0].raw
    assert RAW[1] in opened(kept[1]).raw  # the key opens a sealed row for a fix

    found = _bytes_of(db_url, db, tmp_path)
    assert len(found) > 10_000
    assert [r for r in RAW if r.encode() in found] == []
    assert b"SECRET-CUSTOMER" not in found


def _bytes_of(db_url: str, db, tmp_path) -> bytes:
    """Every byte the database holds: the SQLite file (after a checkpoint moves the WAL into
    it) with its WAL, or a PostgreSQL dump (``pg_dump``) of the whole database."""
    if db_url.startswith("sqlite"):
        db.dispose()
        path = make_url(db_url).database
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        wal = Path(f"{path}-wal")
        return Path(path).read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    url = make_url(db_url)
    dump = subprocess.run(
        [
            "pg_dump",
            "--host",
            url.host or "127.0.0.1",
            "--port",
            str(url.port or 5432),
            "--username",
            "postgres",
            "--no-password",
            url.database or "",
        ],
        capture_output=True,
        check=True,
    )
    return dump.stdout


def test_the_repeat_contact_rule_links_the_same_contacts_as_with_the_ids_as_sent(db, tmp_path):
    """Each customer comes back 3 days later: the first two contacts of each are repeats, the
    last is a resolution (12). Pseudonyms per contract link exactly those."""
    load_contract(db, tmp_path)
    ingest.import_interactions(db, interactions_file(tmp_path))
    for from_rows in (True, False):
        outcomes = outcomes_of(db, "ACME-1", "2026-10", from_rows=from_rows)
        assert sum(cell.resolutions for cell in outcomes.cells) == 12


def test_a_pseudonym_of_the_key_is_imported_as_it_is_and_two_contracts_never_share_one(tmp_path):
    key = Pseudonymizer(b"k" * 32)
    first = key.of("ACME-1", "alice")
    assert key.of("ACME-1", first) == first  # a fixed rejected row comes back with its pseudonym
    assert key.of("OTHER-1", "alice") != first
    assert Pseudonymizer(b"q" * 32).of("ACME-1", first) != first  # another key's: hashed again
    cached = key.cached()
    assert [cached("ACME-1", "alice"), cached("ACME-1", first), cached("OTHER-1", "alice")] == [
        first,
        first,
        key.of("OTHER-1", "alice"),
    ]


def test_init_creates_an_owner_only_key_file_beside_the_database_and_never_prints_the_key(tmp_path, monkeypatch):
    from billing.cli import app

    monkeypatch.delenv("BILLING_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("BILLING_PSEUDONYM_KEY_FILE", raising=False)
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    result = CliRunner().invoke(app, ["--db", url, "init"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "billing.db.pseudonym.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert len(bytes.fromhex(key)) == 32 and key not in result.output
    assert load_key(url).key == bytes.fromhex(key)
    again = CliRunner().invoke(app, ["--db", url, "init"])
    assert again.exit_code == 0 and path.read_text().strip() == key  # never replaced

    path.chmod(0o644)
    refused = CliRunner().invoke(app, ["--db", url, "outcomes", "import", str(tmp_path / "none.csv")])
    assert refused.exit_code in (1, 2)
    load_contract(make_engine(url), tmp_path)
    imported = CliRunner().invoke(app, ["--db", url, "outcomes", "import", str(interactions_file(tmp_path))])
    assert imported.exit_code == 1 and "readable by others" in imported.stderr and key not in imported.output


def test_a_key_file_named_by_the_environment_is_created_there(tmp_path, monkeypatch):
    monkeypatch.delenv("BILLING_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("BILLING_PSEUDONYM_KEY_FILE", str(tmp_path / "keys" / "billing.key"))
    created = ensure_key_file("postgresql+psycopg://billing@db/billing")
    assert created == tmp_path / "keys" / "billing.key"
    assert stat.S_IMODE(created.stat().st_mode) == 0o600
    assert ensure_key_file("postgresql+psycopg://billing@db/billing") is None


def test_an_import_under_another_key_is_refused(db, tmp_path, monkeypatch):
    load_contract(db, tmp_path)
    ingest.import_interactions(db, interactions_file(tmp_path))
    monkeypatch.setenv("BILLING_PSEUDONYM_KEY", "another-key-another-key-another-key-0000")
    from billing.core.problems import Conflict

    with pytest.raises(Conflict, match="not the key this database's customer ids"):
        ingest.import_interactions(db, interactions_file(tmp_path, "again.csv"))


def test_the_migration_pseudonymises_the_ids_and_rejected_rows_older_versions_stored(tmp_path):
    """A database at 0011 with customer ids as sent, upgraded: every id is its pseudonym, the
    repeat-contact links are the same, and kept rows hold no id as sent."""
    old = f"sqlite:///{tmp_path / 'old.db'}"
    migrate(old, "0011")
    engine = create_engine(old)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO client (id, name, locale, created_at) VALUES ('acme', 'Acme', 'en_US', :t)"),
            {"t": datetime.now(UTC)},
        )
        conn.execute(
            text("INSERT INTO contract (id, code, client_id, created_at) VALUES (1, 'ACME-1', 'acme', :t)"),
            {"t": datetime.now(UTC)},
        )
        conn.execute(
            text(
                "INSERT INTO import_batch (id, kind, source, started_at, imported, duplicates, rejected) "
                "VALUES (1, 'interactions', 'old.csv', :t, 2, 0, 1)"
            ),
            {"t": datetime.now(UTC)},
        )
        for n, customer in enumerate([RAW[0], RAW[0]]):
            conn.execute(
                text(
                    "INSERT INTO interaction (contract_id, interaction_id, channel, started_at, wait_seconds, "
                    "abandoned, handle_seconds, handled_by, customer_id, resolved, escalated, batch_id, "
                    "next_contact_at) VALUES (1, :iid, 'voice', :at, 5, 0, 60, 'human', :c, 1, 0, 1, :nxt)"
                ),
                {
                    "iid": f"o{n}",
                    "at": 1_790_000_000 + n * 86400,
                    "c": customer,
                    "nxt": 1_790_086_400 if n == 0 else None,
                },
            )
        conn.execute(
            text(
                "INSERT INTO rejected_row (batch_id, kind, source, row_number, header, raw, errors, status, "
                "created_at) VALUES (1, 'interactions', 'old.csv', 3, :h, :raw, :e, 'open', :t)"
            ),
            {
                "h": HEADER,
                "raw": f"o9,ACME-1,voice,{RAW[3]},never,5,false,60,human,true,false,,,",
                "e": '[{"code": "bad_characters", "field": "customer_id", "message": "got \'' + RAW[3] + "'\"}]",
                "t": datetime.now(UTC),
            },
        )
    engine.dispose()
    migrate(old)
    engine = create_engine(old)
    with engine.connect() as conn:
        customers = [row[0] for row in conn.execute(text("SELECT customer_id FROM interaction ORDER BY id"))]
        raw, errors = conn.execute(text("SELECT raw, errors FROM rejected_row")).one()
        keys = [row[0] for row in conn.execute(text("SELECT key_id FROM pseudonym_key"))]
    engine.dispose()
    assert customers == [pseudonym("ACME-1", RAW[0])] * 2
    assert RAW[3] not in raw and pseudonym("ACME-1", RAW[3]) in raw and RAW[3] not in errors
    assert keys == [load_key(old).key_id]


@pytest.mark.postgres
def test_on_a_database_server_init_keeps_the_key_in_the_users_configuration_folder(
    pg_only_url: str, tmp_path, monkeypatch
):
    from billing.cli import app

    monkeypatch.delenv("BILLING_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("BILLING_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    result = CliRunner().invoke(app, ["--db", pg_only_url, "init"])
    assert result.exit_code == 0, result.output
    [path] = (tmp_path / "config" / "bpo-billing").glob("*.pseudonym.key")
    assert path.name.startswith("127.0.0.1-5432-billing_test_")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().strip() not in result.output
    engine = make_engine(pg_only_url)
    load_contract(engine, tmp_path)
    imported = CliRunner().invoke(app, ["--db", pg_only_url, "outcomes", "import", str(interactions_file(tmp_path))])
    assert '"imported": 36' in imported.output  # the file's three bad rows are rejected, as on SQLite
