"""``billing contracts load | check | list | show``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from billing.cli.common import USAGE, command_group, console, fail, fail_problems, print_json, state
from billing.core.periods import Period
from billing.core.problems import ProblemsError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from billing.contracts.store import LoadOutcome


def _ready_engine() -> Engine | None:
    """The database when one is ready for this version, else None (``check`` then validates
    the files alone): a check never creates or migrates a database."""
    from billing.storage.db import DatabaseNotReady, check_ready, database_url, get_engine

    engine = get_engine(database_url(state.db_url))
    try:
        check_ready(engine)
    except DatabaseNotReady:
        return None
    return engine


def register(app: typer.Typer) -> None:
    group = command_group(help="Contracts: load files, list them, show terms in force.")
    app.add_typer(group, name="contracts")

    @group.command("load")
    def load(
        files: list[Path] = typer.Argument(..., help="Contract YAML files (bases and amendments)"),
        replace: bool = typer.Option(
            False, "--replace", help="Replace the stored version of each file if no numbered document uses it yet"
        ),
    ) -> None:
        """Validate and store contract files. Nothing is stored unless every file is valid.
        With --replace, a file whose version is stored replaces it (audited), unless an issued
        document uses that version: then it stays immutable (amend it instead)."""
        from billing.measurement.contracts import load_contracts

        try:
            outcomes = load_contracts(state.engine(), files, actor=state.actor, replace=replace)
        except ProblemsError as exc:
            fail_problems(exc.problems)
        _print_outcomes(outcomes)

    @group.command("check")
    def check(
        files: list[Path] = typer.Argument(..., help="Contract YAML files to validate"),
        replace: bool = typer.Option(False, "--replace", help="Check as `load --replace` would"),
    ) -> None:
        """Validate contract files without storing anything: the same problems as `load`, exit
        status 0 or 1. With a database ready (--db, BILLING_DATABASE_URL or ./billing.db) the
        files are also checked against what it stores (amendments, issued periods, issuers)."""
        from billing.measurement.contracts import check_contracts

        engine = _ready_engine()
        try:
            outcomes = check_contracts(engine, files, actor=state.actor, replace=replace)
        except ProblemsError as exc:
            fail_problems(exc.problems)
        _print_outcomes(outcomes, prefix="would be " if engine is not None else "")
        where = "checked against the database" if engine is not None else "checked alone (no database)"
        console.print(f"{len(outcomes)} file(s) valid, {where}; nothing was stored.", highlight=False)

    def _print_outcomes(outcomes: list[LoadOutcome], prefix: str = "") -> None:
        for outcome in outcomes:
            note = f" ({outcome.drafts} draft(s) to refresh with `billing close`)" if outcome.drafts else ""
            console.print(
                f"{outcome.source}: {outcome.code} effective {outcome.effective_from}: {prefix}{outcome.action}{note}",
                highlight=False,
            )

    @group.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """Every contract with its client and versions."""
        from rich.table import Table

        from billing.storage.readiness import DatabaseNotReady, database_url, read_sqlite

        # Plain SQL: listing needs no ORM. On the embedded SQLite default the standard library
        # reads it, so the command starts at once; any other database goes through the engine.
        queries = (
            "SELECT c.id, c.code, cl.id, cl.name FROM contract c JOIN client cl ON cl.id = c.client_id ORDER BY c.code",
            "SELECT contract_id, effective_from FROM contract_version ORDER BY effective_from",
        )
        try:
            found = read_sqlite(database_url(state.db_url), *queries)
        except DatabaseNotReady as exc:
            fail(str(exc), USAGE)
        if found is None:
            with state.engine().connect() as connection:
                found = [list(connection.exec_driver_sql(query).all()) for query in queries]
        rows, versions = found
        by_contract: dict[int, list[str]] = {}
        for contract_id, effective_from in versions:
            by_contract.setdefault(contract_id, []).append(str(effective_from))
        data = [
            {"contract": code, "client": client_id, "client_name": name, "versions": by_contract.get(cid, [])}
            for cid, code, client_id, name in rows
        ]
        if as_json:
            print_json({"data": data, "count": len(data)})
            return
        table = Table("contract", "client", "versions effective from")
        for item in data:
            shown = ", ".join(item["versions"])  # type: ignore[arg-type]
            table.add_row(str(item["contract"]), f"{item['client_name']} ({item['client']})", shown)
        console.print(table)

    @group.command("show")
    def show(
        code: str,
        at: str = typer.Option(None, "--at", help="A date YYYY-MM-DD or period YYYY-MM (default: today)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """The terms in force for a contract on a date."""
        from billing.contracts import store as service
        from billing.contracts.terms_json import terms_to_json
        from billing.storage.db import reading
        from billing.storage.models import ContractVersion

        try:
            period = (
                Period.parse(at)
                if at and len(at) == 7
                else Period.of_date(date.fromisoformat(at) if at else date.today())
            )
        except ValueError as exc:
            fail(str(exc), 2)
        with reading(state.engine()) as session:
            try:
                current = service.terms_in_force(session, code, period)
            except LookupError as exc:
                fail(str(exc))
            version = session.get(ContractVersion, current.version_id)
        assert version is not None
        data = {
            "contract": code,
            "period": str(period),
            "version": {
                "effective_from": version.effective_from.isoformat(),
                "source": version.source_name,
                "amendment": version.is_amendment,
            },
            "terms": terms_to_json(current.terms),
        }
        if as_json:
            print_json(data)
            return
        console.print_json(data=data)
