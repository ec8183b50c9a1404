"""The command line starts at once and fails in one line: a command loads only what it uses, a
database that cannot serve this version stops every command with one sentence naming what to
do (exit code 2), and nothing a command raises reaches the user as a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from billing.cli import app
from billing.storage.db import migrate
from billing.storage.readiness import SCHEMA_HEAD
from tests.conftest import REPO

HEAVY = ("sqlalchemy", "sqlmodel", "fastapi", "weasyprint", "jinja2", "babel", "stripe", "yaml", "pydantic")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("BILLING_DATABASE_URL", None)
    env.pop("BILLING_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "billing", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_start_up_loads_no_heavy_library() -> None:
    code = "import sys, billing.cli; print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in %r)))"
    out = subprocess.run(
        [sys.executable, "-c", code % (HEAVY,)], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    assert out == ""


def test_help_is_plain_text_without_a_markdown_parser() -> None:
    code = (
        "import sys\nfrom billing.cli import app\n"
        "try:\n    app(['contracts', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('markdown_it', 'sqlalchemy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout
    assert "load" in out and "LOADED []" in out


def test_help_lists_every_command_group() -> None:
    result = run("--help")
    assert result.returncode == 0
    for name in ("init", "contracts", "outcomes", "kpis", "rate", "close", "invoices", "reconcile", "simulate", "demo"):
        assert name in result.stdout


def test_a_missing_sqlite_database_names_billing_init_and_is_not_created(tmp_path: Path) -> None:
    result = run("contracts", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no database at sqlite:///billing.db: run `billing init` to create it"
    assert not (tmp_path / "billing.db").exists()


def test_init_creates_the_default_database_in_the_working_directory(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "billing.db").exists()
    listed = run("contracts", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert '"count": 0' in listed.stdout


def test_contracts_list_reads_the_embedded_database_without_sqlalchemy(tmp_path: Path) -> None:
    assert run("init", cwd=tmp_path).returncode == 0
    assert run("contracts", "load", str(REPO / "fixtures" / "golden" / "contract.yaml"), cwd=tmp_path).returncode == 0
    code = (
        "import sys\nfrom billing.cli import app\ntry:\n    app(['contracts', 'list', '--json'])\n"
        "except SystemExit:\n    pass\nprint('LOADED', sorted(m for m in sys.modules if m.startswith('sqlalchemy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path).stdout
    assert '"contract": "GOLD-1"' in out and '"versions": [\n        "2026-10-01"\n      ]' in out
    assert "LOADED []" in out


def test_a_database_never_initialised_names_billing_init(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE unrelated (a INTEGER)").connection.close()
    result = run("--db", f"sqlite:///{tmp_path}/other.db", "invoices", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: the database at sqlite:///{tmp_path}/other.db is not initialised: run `billing init`"
    )


def test_an_older_schema_asks_for_billing_init_and_init_migrates_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    migrate(url, "0007")
    result = run("--db", url, "contracts", "list", cwd=tmp_path)
    assert result.returncode == 2
    assert f"has schema revision 0007; this version of billing needs {SCHEMA_HEAD}" in result.stderr
    assert run("--db", url, "init", cwd=tmp_path).returncode == 0
    assert run("--db", url, "contracts", "list", cwd=tmp_path).returncode == 0


def test_an_unreachable_postgresql_names_the_url_without_its_password(tmp_path: Path) -> None:
    result = run("--db", "postgresql://billing:s3cret@127.0.0.1:1/books", "contracts", "list", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: cannot reach the database at postgresql+psycopg://billing:***@127.0.0.1:1/books")
    assert "s3cret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_schema_head_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from billing.storage.db import alembic_config

    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads() == [SCHEMA_HEAD]


def test_an_unexpected_error_is_one_line_with_exit_code_70(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/b.db"
    migrate(url)

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("the disk ate it")

    monkeypatch.setattr("billing.measurement.contracts.load_contracts", broken)
    contract = REPO / "contracts" / "northwind-health.yaml"
    result = CliRunner().invoke(app, ["--db", url, "contracts", "load", str(contract)])
    assert result.exit_code == 70
    assert "internal error (RuntimeError: the disk ate it)" in result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_writing_a_pdf_where_no_file_can_be_written_is_one_line_with_exit_code_2(tmp_path: Path) -> None:
    from tests.invoicing.invoice_helpers import draft, load_contract

    url = f"sqlite:///{tmp_path}/p.db"
    migrate(url)
    from billing.storage.db import make_engine

    engine = make_engine(url)
    load_contract(engine, tmp_path)
    document = draft(engine, "ACME-1", 10)
    engine.dispose()
    for target, reason in ((tmp_path, "Is a directory"), (tmp_path / "missing" / "x.pdf", "No such file or directory")):
        result = CliRunner().invoke(app, ["--db", url, "pdf", "invoice", str(document), "--out", str(target)])
        assert result.exit_code == 2, result.output
        assert result.output.strip() == f"error: cannot use {target}: {reason}"
