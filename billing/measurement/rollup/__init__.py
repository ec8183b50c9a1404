"""The daily outcome rollup: additive sums per (contract, local day, channel, handled_by),
kept in the database by every writer of interactions, in the transaction that writes them.

A period is exactly its local days (``billing.core.periods.LocalCalendar``), so a contract-period's
``OutcomeCell`` sums are a sum of its days' rows: a few hundred rows instead of every
interaction. Everything here is SQL run inside the database; nothing loops over interactions
in Python.

**The invariant.** For every contract with a basis (``OutcomeBasis``), ``outcome_day`` holds
exactly what one grouped query over the contract's interactions would give under that basis.
Three writers keep it, each in the same transaction as the rows it changes:

- ``fold``: new rows are grouped and added (an import chunk, or a rebuild);
- ``apply_next_changes``: when a stored row's next contact changes (a later contact arrives,
  a late one is slotted in), the repeated-resolution counts of its day move by the difference;
- ``rebuild``: when the basis changes (a contract version brings a new threshold or window),
  the contract's days are computed again from its interactions.

**The basis.** Answers and abandons are counted within up to four waits (``threshold_k``:
20 s, the KPI default, and every service level's threshold in any version of the terms), and
repeated resolutions within up to two repeat windows (``window_k``). A measurement whose
thresholds and window are all in the basis reads the rollup; any other (an ad-hoc
``--threshold``, a simulation under other terms, a measurement as of an earlier import) reads
the interactions (``billing.measurement.queries``). Both give the same numbers: the tests compare
them on random data, and ``verify`` compares them on a live database.

Modules: ``basis`` (what a contract's days count against; rebuilds), ``fold`` (writers and
the reader), ``verify`` (recount and compare).
"""

from billing.measurement.rollup.basis import (
    Basis,
    basis_of,
    ensure_all,
    ensure_basis,
    lock_writers,
    rebuild,
    stored_bases,
)
from billing.measurement.rollup.common import DAY_SECONDS, WRITER_LOCK
from billing.measurement.rollup.fold import (
    NEXT_CHANGE_TABLE,
    READ_COLUMNS,
    DaySpan,
    apply_next_changes,
    create_next_change_table,
    fold,
    fold_statement,
    read_spans,
    slots_in_use,
)
from billing.measurement.rollup.verify import Difference, verify

__all__ = [
    "DAY_SECONDS",
    "NEXT_CHANGE_TABLE",
    "READ_COLUMNS",
    "WRITER_LOCK",
    "Basis",
    "DaySpan",
    "Difference",
    "apply_next_changes",
    "basis_of",
    "create_next_change_table",
    "ensure_all",
    "ensure_basis",
    "fold",
    "fold_statement",
    "lock_writers",
    "read_spans",
    "rebuild",
    "slots_in_use",
    "stored_bases",
    "verify",
]
