"""The ``billing`` command. Each module in this package adds its commands through a
``register(app)`` function, discovered at start-up, so capabilities stay in their own files.

Start-up imports only Typer and each module's command signatures; a command imports what it
uses when it runs. Whatever a command raises reaches the user as one line with a documented
exit code (``billing.cli.common``), never as a traceback.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from typing import Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from billing.cli.common import INTERNAL, REFUSED, USAGE, error, state


class BillingGroup(TyperGroup):
    """The top-level group: runs a command and turns what escapes it into one line and an exit
    code. ``BILLING_DEBUG=1`` lets an internal error through with its traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # Typer's own signals and usage errors
            raise
        except KeyboardInterrupt:
            error("interrupted; what was committed before stays committed")
            raise typer.Exit(130) from None
        except Exception as exc:
            code, message = describe(exc)
            if code == INTERNAL and os.environ.get("BILLING_DEBUG"):
                raise
            error(message)
            raise typer.Exit(code) from None


def describe(exc: Exception) -> tuple[int, str]:
    """The exit code and one-line message for an exception no command handled itself."""
    from billing.core.problems import Conflict, ProblemsError

    if isinstance(exc, ProblemsError):
        return REFUSED, "; ".join(str(p) for p in exc.problems[:5]) + (" ..." if len(exc.problems) > 5 else "")
    if isinstance(exc, Conflict | LookupError):
        return REFUSED, str(exc)
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return USAGE, f"cannot use{where}: {exc.strerror or exc}"
    from sqlalchemy.exc import IntegrityError

    if isinstance(exc, IntegrityError):  # a trigger or constraint refused a change: a refusal, not a fault
        orig = exc.orig if exc.orig is not None else exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return REFUSED, f"refused by the database: {reason}"
    if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
        from billing.storage.db import database_url, redacted

        orig = getattr(exc, "orig", None) or exc
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
        return USAGE, f"database error at {redacted(database_url(state.db_url))}: {reason}"
    return INTERNAL, (
        f"internal error ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no message'}); "
        "nothing more was done. Run again with BILLING_DEBUG=1 for the details, and report it"
    )


app = typer.Typer(
    cls=BillingGroup,
    rich_markup_mode=None,
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
