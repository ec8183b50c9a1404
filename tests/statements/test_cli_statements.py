"""``billing statements``, ``billing pdf invoice`` and ``billing tokens`` from the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import Engine
from typer.testing import CliRunner

from billing.cli import app
from tests.api.api_world import build

runner = CliRunner()


def billing(db_url: str, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--db", db_url, *args])
    return result.exit_code, result.output


def test_statement_as_json_html_and_pdf(db: Engine, db_url: str, tmp_path: Path) -> None:
    build(db, tmp_path)
    code, out = billing(db_url, "statements", "andes", "--from", "2026-11", "--to", "2026-11", "--json")
    assert code == 0
    account = json.loads(out)["accounts"][0]
    assert (account["opening_balance"], account["closing_balance"]) == ("17110.00", "17110.00")
    html, pdf_file = tmp_path / "s.html", tmp_path / "s.pdf"
    code, _ = billing(db_url, "statements", "andes", "--from", "2026-09", "--to", "2026-11", "--html", str(html))
    assert code == 0 and "Estado de cuenta" in html.read_text()
    code, _ = billing(db_url, "statements", "iberia", "--from", "2026-10", "--to", "2026-11", "--pdf", str(pdf_file))
    text = PdfReader(io.BytesIO(pdf_file.read_bytes())).pages[0].extract_text().replace("\xa0", " ")
    assert code == 0 and "1.210,00 €" in text
    code, out = billing(db_url, "statements", "andes", "--from", "2026-11", "--to", "2026-11")
    assert code == 0 and "Saldo final" in out
    code, out = billing(db_url, "statements", "nobody", "--from", "2026-11", "--to", "2026-11")
    assert code == 1 and "no client" in out


def test_invoice_pdf_by_number(db: Engine, db_url: str, tmp_path: Path) -> None:
    build(db, tmp_path)
    out = tmp_path / "f.pdf"
    code, _ = billing(db_url, "pdf", "invoice", "F001-00000002", "--out", str(out))
    text = PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text().replace("\xa0", " ")
    assert code == 0 and "Total S/ 17,700.00" in text and "Serie F001" in text
    code, _ = billing(db_url, "pdf", "invoice", "F001-99999999", "--out", str(out))
    assert code == 1


def test_tokens_create_list_revoke(db: Engine, db_url: str, tmp_path: Path) -> None:
    build(db, tmp_path)
    code, out = billing(db_url, "tokens", "create", "--client", "andes", "portal 2")
    secret = out.strip().splitlines()[-1]
    assert code == 0 and len(secret) >= 40
    code, out = billing(db_url, "tokens", "list", "--json")
    tokens = json.loads(out)["data"]
    mine = next(t for t in tokens if t["name"] == "portal 2")
    assert (mine["scope"], mine["client_id"], mine["revoked_at"]) == ("client", "andes", None)
    assert secret not in out  # only the hash is stored
    assert billing(db_url, "tokens", "revoke", str(mine["id"]))[0] == 0
    assert json.loads(billing(db_url, "tokens", "list", "--json")[1])["data"][-1]["revoked_at"] is not None
    assert billing(db_url, "tokens", "create", "x")[0] == 2  # neither --finance nor --client
    assert billing(db_url, "tokens", "create", "--client", "nobody", "x")[0] == 1
