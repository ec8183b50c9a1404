"""``billing entities load | list | show``: the companies that issue documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from billing.cli.common import command_group, console, fail, fail_problems, print_json, state
from billing.core.problems import ProblemsError


def register(app: typer.Typer) -> None:
    group = command_group(help="Billing entities (issuers): load entity files, list and show them.")
    app.add_typer(group, name="entities")

    @group.command("load")
    def load(files: list[Path] = typer.Argument(..., help="Entity YAML files (docs/entities.md)")) -> None:
        """Validate and store entity files, with their logos. Nothing is stored unless every file
        is valid; a changed file updates its entity (audited). Documents already issued keep
        the issuer they were issued with."""
        from billing.contracts.entities import load_entities

        try:
            outcomes = load_entities(state.engine(), files, actor=state.actor)
        except ProblemsError as exc:
            fail_problems(exc.problems)
        for outcome in outcomes:
            console.print(f"{outcome.source}: {outcome.code}: {outcome.action}", highlight=False)

    @group.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """Every entity with its tax id and country."""
        from billing.contracts.entities import list_entities
        from billing.storage.db import reading

        with reading(state.engine()) as session:
            data = [_json(row) for row in list_entities(session)]
        if as_json:
            print_json({"data": data, "count": len(data)})
            return
        for item in data:
            console.print(
                f"{item['code']}: {item['legal_name']} ({item['tax_scheme']} {item['tax_id']}, "
                f"{item['address'].get('country')}), {len(item['bank_accounts'])} bank account(s)",
                highlight=False,
            )
        console.print(f"{len(data)} entit{'y' if len(data) == 1 else 'ies'}", highlight=False)

    @group.command("show")
    def show(code: str) -> None:
        """One entity as JSON (the logo by its type and size)."""
        from billing.contracts.entities import get_entity
        from billing.storage.db import reading

        with reading(state.engine()) as session:
            try:
                row = get_entity(session, code)
            except LookupError as exc:
                fail(str(exc))
            print_json(_json(row))


def _json(row: Any) -> dict[str, Any]:
    return {
        "code": row.code,
        "legal_name": row.legal_name,
        "trade_name": row.trade_name,
        "tax_scheme": row.tax_scheme,
        "tax_id": row.tax_id,
        "address": row.address,
        "email": row.email,
        "phone": row.phone,
        "bank_accounts": row.bank_accounts,
        "logo": None if row.logo is None else {"type": row.logo_type, "bytes": len(row.logo)},
        "footer": row.footer,
        "source": row.source_name,
        "loaded_at": row.loaded_at,
    }
