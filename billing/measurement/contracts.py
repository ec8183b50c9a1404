"""Loading contracts: the service step behind ``billing contracts load``.

All-or-nothing per command: every file is validated and every problem reported, and only when
none remains is anything stored. In the same transaction each loaded contract's daily rollup
learns every threshold and repeat window its versions use (``billing.measurement.rollup``), so
a KPI read right after the load is answered from the rollup with the new terms.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from billing.contracts.store import LoadOutcome, get_contract, read_files, store_contracts
from billing.measurement.rollup import ensure_basis
from billing.storage.db import transaction


def load_contracts(engine: Engine, paths: list[Path], actor: str = "cli") -> list[LoadOutcome]:
    """Validate and store contract files; raise ``ProblemsError`` with every problem found."""
    files = read_files(paths)
    with transaction(engine) as session:
        outcomes = store_contracts(session, files, actor)
        for code in sorted({outcome.code for outcome in outcomes}):
            ensure_basis(session, get_contract(session, code).id)  # type: ignore[arg-type]
    return outcomes
