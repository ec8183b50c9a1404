"""What every command shares: the database, JSON output, and how problems are shown.

This module is imported by every command at start-up, so it imports nothing heavy: the
database layer is loaded by the first command that asks for ``state.engine()``.

Exit codes (documented in the README): 0 done; 1 refused or partly rejected (invalid input,
rejected rows, a conflict with what is stored, a change the database refuses, not found); 2 usage or environment (bad
arguments, a database that is missing, not initialised or unreachable, a file that cannot be
written); 3 done in part (some contracts were skipped); 70 an internal error (a bug: one line,
and ``BILLING_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from billing.core.periods import Period
from billing.core.problems import Problem

if TYPE_CHECKING:
    from sqlalchemy import Engine

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

#: Exit codes.
REFUSED = 1
USAGE = 2
PARTIAL = 3
INTERNAL = 70


@dataclass
class _State:
    db_url: str | None = None
    actor: str = "cli"
    _checked: set[str] = field(default_factory=set)

    def engine(self) -> Engine:
        """The engine of ``--db`` (or the default), once checked to be ready for this version:
        a missing, uninitialised, older or unreachable database stops the command with one line
        naming what to do (exit code 2)."""
        from billing.storage.db import DatabaseNotReady, check_ready, database_url, get_engine

        url = database_url(self.db_url)
        engine = get_engine(url)
        if url not in self._checked:
            try:
                check_ready(engine)
            except DatabaseNotReady as exc:
                fail(str(exc), USAGE)
            self._checked.add(url)
        return engine


state = _State()


def command_group(help: str, **options: Any) -> typer.Typer:
    """A group of commands (``billing contracts ...``). Help is plain text: Typer's Rich help
    loads a Markdown parser, which would cost every command a tenth of a second at start-up."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, **options)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def fail(message: str, code: int = REFUSED) -> NoReturn:
    """Print one line ``error: message`` on stderr (the message is text, never markup) and exit."""
    error(message)
    raise typer.Exit(code)


def error(message: str) -> None:
    err_console.print(Text.assemble(("error: ", "red"), message), highlight=False)


def fail_problems(problems: list[Problem], code: int = 1) -> NoReturn:
    for problem in problems:
        error(str(problem))
    err_console.print(f"{len(problems)} problem(s); nothing was stored.", highlight=False)
    raise typer.Exit(code)


def parse_period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as exc:
        fail(str(exc), 2)


class DefaultCommandGroup(TyperGroup):
    """A group that runs its ``default`` command when the first argument is not a
    subcommand: ``billing kpis GOLD-1 --period ...`` beside ``billing kpis import-client F``."""

    default_command = "show"

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)
