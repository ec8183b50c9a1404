"""Loading contracts: the service step behind ``billing contracts load`` and ``check``.

All-or-nothing per command: every file is validated and every problem reported, and only when
none remains is anything stored. In the same transaction each loaded contract's daily rollup
learns every threshold and repeat window its versions use (``billing.measurement.rollup``), so
a KPI read right after the load is answered from the rollup with the new terms.

``replace`` rewrites a version no numbered document uses (``billing.contracts.replacing``);
``check_contracts`` runs the same load and rolls it back, so it reports exactly what ``load``
would, and stores nothing.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from billing.contracts.replacing import store_replacing
from billing.contracts.store import LoadOutcome, get_contract, read_files, store_contracts
from billing.measurement.rollup import ensure_basis
from billing.storage.db import transaction


def load_contracts(engine: Engine, paths: list[Path], actor: str = "cli", replace: bool = False) -> list[LoadOutcome]:
    """Validate and store contract files; raise ``ProblemsError`` with every problem found."""
    files = read_files(paths)
    with transaction(engine) as session:
        outcomes = store_replacing(session, files, actor) if replace else store_contracts(session, files, actor)
        for code in sorted({outcome.code for outcome in outcomes}):
            ensure_basis(session, get_contract(session, code).id)  # type: ignore[arg-type]
    return outcomes


class _RolledBack(Exception):
    def __init__(self, outcomes: list[LoadOutcome]):
        self.outcomes = outcomes


def check_contracts(
    engine: Engine | None, paths: list[Path], actor: str = "cli", replace: bool = False
) -> list[LoadOutcome]:
    """What ``load_contracts`` would do, with the same problems, and nothing stored: the files
    are validated, then (given a database) loaded in a transaction that is rolled back."""
    files = read_files(paths)
    if engine is None:
        return [LoadOutcome(f.source, f.terms.code, f.terms.effective_start, "valid") for f in files]
    try:
        with transaction(engine) as session:
            outcomes = store_replacing(session, files, actor) if replace else store_contracts(session, files, actor)
            raise _RolledBack(outcomes)
    except _RolledBack as done:
        return done.outcomes
