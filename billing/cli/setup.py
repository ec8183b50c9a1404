"""``billing init``: create or migrate the database, and build any missing daily rollup."""

from __future__ import annotations

import typer

from billing.cli.common import console, state


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init() -> None:
        """Create or migrate the database to the latest schema (Alembic), and create the key
        customer ids are pseudonymised with when none is configured (docs/privacy.md)."""
        from billing.measurement.pseudonyms import ensure_key_file
        from billing.measurement.rollup import ensure_all
        from billing.storage.db import database_url, migrate, transaction

        url = database_url(state.db_url)
        created = ensure_key_file(url)
        if created is not None:
            console.print(
                f"pseudonym key created: {created} (owner-only; back it up with the database)", highlight=False
            )
        migrate(url)
        with transaction(state.engine()) as session:
            rebuilt = ensure_all(session)  # contracts stored before the daily rollup existed
        if rebuilt:
            console.print(f"daily outcome rollup built for {len(rebuilt)} contract(s)", highlight=False)
        console.print(f"database ready: {_redacted(url)}", highlight=False)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
