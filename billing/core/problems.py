"""Expected problems are data: a stable code, where it was found, and what is wrong.

Validation and imports collect every problem and report them together, so a user fixes a
file once instead of once per error. Exceptions are kept for broken invariants.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in one place: ``source`` is a file name, ``line`` a line or row number,
    ``field`` a dotted path or column name."""

    code: str
    message: str
    source: str = ""
    line: int | None = None
    field: str = ""

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        head = f"{where}: " if where else ""
        fld = f"{self.field}: " if self.field else ""
        return f"{head}{fld}{self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "source": self.source,
            "line": self.line,
            "field": self.field,
        }


class ProblemsError(Exception):
    """Raised by an edge (a command, a service) when a whole operation is refused."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Conflict(Exception):
    """The state of what is stored does not allow the action (issuing an issued invoice,
    crediting more than was billed). Expected, under concurrency too; never a bug."""
