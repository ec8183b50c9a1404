"""``billing tokens create | list | revoke``: API tokens for finance and for clients."""

from __future__ import annotations

import typer

from billing.cli.common import command_group, console, fail, print_json, state


def register(app: typer.Typer) -> None:
    group = command_group(help="API tokens: finance tokens and client-scoped tokens.")
    app.add_typer(group, name="tokens")

    @group.command("create")
    def create(
        name: str = typer.Argument(..., help="A name to recognise the token by"),
        finance: bool = typer.Option(False, "--finance", help="A finance token (every client, every action)"),
        client: str | None = typer.Option(None, "--client", help="A token that sees only this client"),
    ) -> None:
        """Create a token and print its secret once (only its hash is stored)."""
        from billing.access import tokens as service
        from billing.storage.db import transaction

        if finance == (client is not None):
            fail("give exactly one of --finance or --client CLIENT_ID", 2)
        try:
            with transaction(state.engine()) as session:
                row, secret = service.create_token(session, name, client, actor=state.actor)
        except LookupError as exc:
            fail(str(exc))
        console.print(f"token {row.id} ({row.scope}{' ' + client if client else ''}): {name}", highlight=False)
        typer.echo(secret)

    @group.command("list")
    def list_(as_json: bool = typer.Option(False, "--json")) -> None:
        """Every token (never its secret), revoked ones included."""
        from rich.table import Table

        from billing.access import tokens as service
        from billing.storage.db import reading

        with reading(state.engine()) as session:
            rows = service.list_tokens(session)
        data = [
            {
                "id": r.id,
                "name": r.name,
                "scope": r.scope,
                "client_id": r.client_id,
                "created_at": r.created_at,
                "revoked_at": r.revoked_at,
            }
            for r in rows
        ]
        if as_json:
            print_json({"data": data, "count": len(data)})
            return
        table = Table("id", "name", "scope", "client", "created", "revoked")
        for r in rows:
            table.add_row(
                str(r.id),
                r.name,
                r.scope,
                r.client_id or "",
                r.created_at.isoformat(timespec="seconds"),
                r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "",
            )
        console.print(table)

    @group.command("revoke")
    def revoke(token_id: int = typer.Argument(..., help="The token's id (see `billing tokens list`)")) -> None:
        """Revoke a token: it stops authenticating at once."""
        from billing.access import tokens as service
        from billing.storage.db import transaction

        try:
            with transaction(state.engine()) as session:
                service.revoke_token(session, token_id, actor=state.actor)
        except LookupError as exc:
            fail(str(exc))
        console.print(f"token {token_id} revoked", highlight=False)
