"""What every command shares: the database, JSON output, and how problems are shown."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import Engine
from typer.core import TyperGroup

from billing.core.periods import Period
from billing.core.problems import Problem
from billing.storage.db import database_url, get_engine

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class _State:
    db_url: str | None = None
    actor: str = "cli"

    def engine(self) -> Engine:
        return get_engine(database_url(self.db_url))


state = _State()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def fail_problems(problems: list[Problem], code: int = 1) -> NoReturn:
    for problem in problems:
        err_console.print(f"[red]error:[/red] {problem}", highlight=False, soft_wrap=True)
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
