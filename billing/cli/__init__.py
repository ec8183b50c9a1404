"""The ``billing`` command. Each module in this package adds its commands through a
``register(app)`` function, discovered at start-up, so capabilities stay in their own files."""

from __future__ import annotations

import importlib
import pkgutil

import typer

from billing.cli.common import state

app = typer.Typer(
    help="Outcome-based billing for contact-center outsourcing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _options(
    db: str | None = typer.Option(
        None, "--db", help="Database URL (default: BILLING_DATABASE_URL, else sqlite:///billing.db)"
    ),
    actor: str = typer.Option("cli", "--actor", help="Who is acting, for the audit trail."),
) -> None:
    state.db_url = db
    state.actor = actor


def _register() -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name == "common":
            continue
        importlib.import_module(f"{__name__}.{module.name}").register(app)


_register()


def main() -> None:
    app()
