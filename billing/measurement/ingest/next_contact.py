"""``Interaction.next_contact_at``: the start of the same customer's next contact on the same
contract, the input of the repeat-contact rule (a resolution is disqualified when the next
contact starts within ``repeat_window_days``, even in the next period). Contacts of one
(contract, customer) pair are ordered by ``(started_at, id)``: of two contacts at the same
instant, the one stored first points at the other.

Each chunk commits with its values right, and with the daily rollup of outcomes
(``billing.measurement.rollup``) moved in the same transaction (``write_interactions``):

1. the reader keeps the first row of a key seen twice in the chunk, points each row at the
   next row of its (contract, customer) pair in the chunk, and lists the pairs with their
   first contact in the chunk (``chain``): right whenever every row goes in and no stored
   contact of the pair is later than the chunk's first one, which is the case of every load
   in time order;
2. for every pair the chunk touches, the pair's last stored contact is found through the
   customer index (one seek per pair), before the rows go in;
3. rows go in, in file order (so ids keep the file's order for ties), through the engine's
   bulk path: PostgreSQL ``COPY`` straight into the table (a chunk with a key stored already
   fails that ``COPY`` and goes through a staging table and ``ON CONFLICT DO NOTHING``
   instead), SQLite one ``INSERT ... SELECT`` from the staged file;
4. the new rows are folded into their days;
5. the pair's last stored contact now points at the chunk's first one (usually the only
   stored row a load changes);
6. a pair that got a contact older than its last stored one (a late contact) is recomputed
   whole with ``LEAD`` over all its rows (``_RECOMPUTE``). So is every touched pair of a chunk
   whose keys were partly stored already (an overlapping file): its chains were computed
   with rows that did not go in. A chunk whose keys were all stored (a re-import) changes
   nothing. Checking keys up front instead would probe the unique index twice for every row
   of every fresh load.

Steps 5 and 6 change stored rows only through ``billing.measurement.rollup.apply_next_changes``,
which moves the repeated-resolution counts of their days by the difference.

Writers take a lock first (SQLite's ``BEGIN IMMEDIATE``; an advisory transaction lock on
PostgreSQL), so two imports never compute from each other's half-written pairs.
``refresh_next_contacts`` recomputes the pairs of a whole batch: an import cut off by an
older version of this code is completed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from operator import itemgetter
from typing import Any

from sqlmodel import Session

from billing.measurement.ingest.staging import Chained, CopyChunk, StagedFile
from billing.measurement.rollup import apply_next_changes, fold, lock_writers
from billing.storage.db import is_sqlite

#: The next contact of every row of the touched pairs, recomputed over all their rows; only
#: rows whose stored value differs, as ``(id, next_at)`` for ``apply_next_changes``.
_RECOMPUTE = """
WITH touched AS (SELECT DISTINCT contract_id, customer_id FROM ({touched}) listed),
recomputed AS (
    SELECT i.id, i.next_contact_at AS was,
           LEAD(i.started_at) OVER (
               PARTITION BY i.contract_id, i.customer_id ORDER BY i.started_at, i.id
           ) AS next_at
    FROM touched t CROSS JOIN interaction i  -- SQLite: the few pairs drive, the index serves
    WHERE i.contract_id = t.contract_id AND i.customer_id = t.customer_id
)
SELECT id, next_at FROM recomputed WHERE was {distinct} next_at
"""

_BATCH_PAIRS = """
    SELECT DISTINCT contract_id, customer_id
    FROM interaction {rowid_range_only}
    WHERE id > :first_new_id AND batch_id = :batch_id AND customer_id IS NOT NULL
"""

#: For one chunk's statements (PostgreSQL): each is driven by the chunk's few thousand keys
#: through an index, but the planner, with no statistics on the staging tables and none on
#: the rows this import has added so far (ANALYZE runs at its end), would rather hash or scan
#: the whole interaction table and JIT-compile that plan, on every chunk: 2x the time of the
#: chunk's folding and linking at 1M rows. The chunk's sorts should stay in memory.
_CHUNK_SETTINGS = {
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "enable_seqscan": "off",
    "jit": "off",
    "work_mem": "'64MB'",
}
_TUNE = "; ".join(f"SET LOCAL {name} TO {value}" for name, value in _CHUNK_SETTINGS.items())
_UNTUNE = "; ".join(f"SET LOCAL {name} TO DEFAULT" for name in _CHUNK_SETTINGS)

#: The pairs a chunk touches, each with its last stored contact, found before the chunk goes
#: in (one seek of the customer index per pair, in (started_at, id) order).
_TOUCHED = """
INSERT INTO stage_touched (contract_id, customer_id, first_new, last_id)
SELECT p.contract_id, p.customer_id, p.first_new,
       (SELECT i.id FROM interaction i
        WHERE i.contract_id = p.contract_id AND i.customer_id = p.customer_id
        ORDER BY i.started_at DESC, i.id DESC LIMIT 1)
FROM {pairs} p
"""

#: The last stored contact of each pair now points at the chunk's first contact.
_LINKS = """
    SELECT t.last_id, t.first_new
    FROM stage_touched t JOIN interaction p ON p.id = t.last_id
    WHERE p.started_at <= t.first_new AND p.next_contact_at {distinct} t.first_new
"""

_LATE_PAIRS = """
    SELECT t.contract_id, t.customer_id
    FROM stage_touched t JOIN interaction p ON p.id = t.last_id
    WHERE p.started_at > t.first_new
"""


def refresh_next_contacts(session: Session, batch_id: int, first_new_id: int) -> int:
    """Recompute ``next_contact_at`` for every pair the batch touched; returns rows changed."""
    sqlite = is_sqlite(session)
    lock_writers(session)  # not while another import writes its chunks (SQLite: BEGIN IMMEDIATE)
    # SQLite would rather walk the whole customer index to get DISTINCT for free than read the
    # few new rows by rowid: NOT INDEXED keeps a late import of 100 rows from scanning 10M.
    touched = _BATCH_PAIRS.format(rowid_range_only="NOT INDEXED" if sqlite else "")
    return apply_next_changes(
        session,
        _RECOMPUTE.format(touched=touched, distinct=_distinct(sqlite)),
        {"batch_id": batch_id, "first_new_id": first_new_id},
    )


def chain(rows: list[tuple[Any, ...]]) -> Chained:
    """A chunk's converted rows (``STORED`` values, then the file line) made ready to store, in
    the reader: the first row of each (contract, interaction id) key, in file order, with the
    next contact of its (contract, customer) pair within the chunk in place of the line (in
    (started_at, file order) order; a repeated key is not stored, so it neither points nor is
    pointed at), and each pair with its first contact in the chunk. Pure Python.

    Files come mostly in time order, so each pair's rows are chained as they come, with one
    dictionary lookup per row; only a pair with a row earlier than one before it in the file
    is sorted."""
    keys = list(zip(map(itemgetter(_CONTRACT), rows), map(itemgetter(_INTERACTION), rows), strict=True))
    if len(set(keys)) == len(rows):
        kept = rows
    else:
        seen: set[tuple[Any, Any]] = set()
        kept = []
        for key, row in zip(keys, rows, strict=True):
            if key not in seen:
                seen.add(key)
                kept.append(row)
    following: list[Any] = [None] * len(kept)
    latest: dict[tuple[Any, Any], int] = {}  # pair -> position of its latest contact so far
    members: dict[tuple[Any, Any], list[int]] = {}
    unordered: set[tuple[Any, Any]] = set()
    for position, row in enumerate(kept):
        customer = row[_CUSTOMER]
        if customer is None:
            continue
        pair = (row[_CONTRACT], customer)
        before = latest.get(pair)
        if before is None:
            latest[pair] = position
            members[pair] = [position]
            continue
        members[pair].append(position)
        started = row[_STARTED]
        if started >= kept[before][_STARTED]:
            following[before] = started
            latest[pair] = position
        else:
            unordered.add(pair)
    for pair in unordered:  # chained again in (started_at, file order) order
        order = sorted(members[pair], key=lambda p: (kept[p][_STARTED], p))
        for this, after in pairwise(order):
            following[this] = kept[after][_STARTED]
        following[order[-1]] = None
    pairs = [
        (*pair, min(kept[p][_STARTED] for p in positions) if pair in unordered else kept[positions[0]][_STARTED])
        for pair, positions in members.items()
    ]
    stored = [(*row[:-1], nxt) for row, nxt in zip(kept, following, strict=True)]
    return Chained(stored, pairs, len(rows))


#: Positions in a stored row (``billing.measurement.ingest.interactions.STORED``).
_CONTRACT, _INTERACTION, _CUSTOMER, _STARTED = 0, 1, 3, 4


def write_interactions(session: Session, columns: Sequence[str], staged: StagedFile | CopyChunk) -> int:
    """Insert a staged chunk's new rows (``columns``: the stored columns, ``next_contact_at``
    last), fix the stored contacts they follow, and fold them into their days; returns how
    many rows were new. A key stored already is skipped."""
    if not staged.rows:
        return 0
    if isinstance(staged, StagedFile):
        return _write_sqlite(session, columns, staged)
    return _write_postgresql(session, columns, staged)


def _write_sqlite(session: Session, columns: Sequence[str], staged: StagedFile) -> int:
    """SQLite: one ``INSERT ... SELECT`` from the staged file attached as ``stage``."""
    run = session.connection().exec_driver_sql
    driver: Any = session.connection().connection.driver_connection
    run(
        "CREATE TEMP TABLE IF NOT EXISTS stage_touched "
        "(contract_id INTEGER, customer_id TEXT, first_new INTEGER, last_id INTEGER)"
    )
    run(_TOUCHED.format(pairs="stage.pairs"))
    before_id = run("SELECT coalesce(max(id), 0) FROM interaction").scalar_one()
    names = ", ".join(columns)
    before = driver.total_changes
    # WHERE true: SQLite's grammar needs it between a SELECT and its ON CONFLICT clause.
    run(
        f"INSERT INTO main.interaction ({names}) SELECT {names} FROM stage.chunk WHERE true ORDER BY seq "
        "ON CONFLICT (contract_id, interaction_id) DO NOTHING"
    )
    inserted = int(driver.total_changes - before)
    if inserted:
        all_new = inserted == staged.rows
        if all_new:
            fold(session, "stage.chunk AS r", "true")
        else:  # NOT INDEXED: the new rows by rowid, not every row through an index
            fold(session, "main.interaction AS r NOT INDEXED", f"r.id > {int(before_id)}")
        _link_stored(session, sqlite=True, all_new=all_new)
    run("DELETE FROM stage_touched")
    return inserted


def _write_postgresql(session: Session, columns: Sequence[str], staged: CopyChunk) -> int:
    """PostgreSQL: ``COPY`` straight into the table, inside a savepoint; a chunk holding a key
    stored already goes through a staging table and ``ON CONFLICT DO NOTHING`` instead."""
    import psycopg

    names = ", ".join(columns)
    driver: Any = session.connection().connection.driver_connection
    lock_writers(session)
    driver.execute(_TUNE)
    if driver.execute("SELECT to_regclass('pg_temp.stage_chunk')").fetchone()[0] is None:
        driver.execute(
            f"CREATE TEMP TABLE stage_chunk ON COMMIT DELETE ROWS AS SELECT {names} FROM interaction WITH NO DATA"
        )
        driver.execute("ALTER TABLE stage_chunk ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY")
    driver.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_pairs "
        "(contract_id bigint, customer_id text, first_new bigint) ON COMMIT DELETE ROWS"
    )
    driver.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_touched "
        "(contract_id bigint, customer_id text, first_new bigint, last_id bigint) ON COMMIT DELETE ROWS"
    )
    run = session.connection().exec_driver_sql
    with driver.cursor() as cursor:
        with cursor.copy("COPY stage_pairs (contract_id, customer_id, first_new) FROM STDIN") as copy:
            copy.write(staged.pairs)
        run(_TOUCHED.format(pairs="stage_pairs"))
        before_id = run("SELECT coalesce(max(id), 0) FROM interaction").scalar_one()
        driver.execute("SAVEPOINT direct_copy")
        try:
            with cursor.copy(f"COPY interaction ({names}) FROM STDIN") as copy:
                copy.write(staged.data)
            inserted = staged.rows
            driver.execute("RELEASE SAVEPOINT direct_copy")
        except psycopg.errors.UniqueViolation:
            driver.execute("ROLLBACK TO SAVEPOINT direct_copy")
            inserted = _merge_postgresql(session, cursor, names, staged)
    if inserted:
        fold(session, "interaction AS r", f"r.id > {int(before_id)}")
        _link_stored(session, sqlite=False, all_new=inserted == staged.rows)
    for table in ("stage_chunk", "stage_pairs", "stage_touched"):
        run(f"DELETE FROM {table}")
    driver.execute(_UNTUNE)
    return inserted


def _merge_postgresql(session: Session, cursor: Any, names: str, staged: CopyChunk) -> int:
    """The chunk into a staging table (``seq`` numbers its rows as ``COPY`` wrote them), then
    only its new keys into the table, in file order."""
    with cursor.copy(f"COPY stage_chunk ({names}) FROM STDIN") as copy:
        copy.write(staged.data)
    result = session.connection().exec_driver_sql(
        f"INSERT INTO interaction ({names}) SELECT {names} FROM stage_chunk ORDER BY seq "
        "ON CONFLICT (contract_id, interaction_id) DO NOTHING"
    )
    return int(result.rowcount)


def _link_stored(session: Session, sqlite: bool, all_new: bool) -> None:
    """After the chunk's rows are in: point each pair's last stored contact at the chunk's
    first, and recompute whole the pairs that got a late contact. When some rows were not
    new after all (a key stored already), every touched pair is recomputed whole: their
    chains were computed with rows that did not go in."""
    distinct = _distinct(sqlite)
    if all_new:
        apply_next_changes(session, _LINKS.format(distinct=distinct))
        late = session.connection().exec_driver_sql(f"SELECT EXISTS ({_LATE_PAIRS})").scalar()
        if not late:
            return
        touched = _LATE_PAIRS
    else:
        touched = "SELECT contract_id, customer_id FROM stage_touched"
    apply_next_changes(session, _RECOMPUTE.format(touched=touched, distinct=distinct))


def _distinct(sqlite: bool) -> str:
    return "IS NOT" if sqlite else "IS DISTINCT FROM"
