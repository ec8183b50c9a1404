"""``Interaction.next_contact_at``: the start of the same customer's next contact on the same
contract, the input of the repeat-contact rule (a resolution is disqualified when the next
contact starts within ``repeat_window_days``, even in the next period). Contacts of one
(contract, customer) pair are ordered by ``(started_at, id)``: of two contacts at the same
instant, the one stored first points at the other.

Each chunk commits with its values right, instead of the whole file being recomputed at the
end (which on PostgreSQL rewrote two thirds of a fresh load's rows) (``write_interactions``):

1. of a key seen twice in the chunk, the first row counts;
2. for every (contract, customer) pair the chunk touches, the pair's last stored contact is
   found through the customer index (one seek per pair);
3. rows go in, in file order (so ids keep the file's order for ties), each pointing at the
   next row of its pair in the chunk (``chain_chunk``, computed by the import's reader beside
   the writer, over the first row of each key): right whenever every row goes in and no
   stored contact of the pair is later than the chunk's first one, which is the case of every
   load in time order. PostgreSQL inserts from a staging table filled by ``COPY``, SQLite with
   one ``executemany``;
4. the pair's last stored contact now points at the chunk's first one (usually the only
   stored row a load changes);
5. a pair that got a contact older than its last stored one (a late contact) is recomputed
   whole with ``LEAD`` over all its rows (``_REFRESH``), writing only changed rows. So is
   every touched pair of a chunk whose keys were partly stored already (an overlapping file):
   its chains were computed with rows that did not go in. A chunk whose keys were all stored
   (a re-import) changes nothing. Checking keys up front instead would probe the unique
   index twice for every row of every fresh load.

A row as the writers take it is the ``STORED`` values, then the next contact within the chunk
(``chain_chunk``), then the file line (the staging order on PostgreSQL).

Writers take a lock first (SQLite's ``BEGIN IMMEDIATE``; an advisory transaction lock on
PostgreSQL), so two imports never compute from each other's half-written pairs.
``refresh_next_contacts`` recomputes the pairs of a whole batch: an import cut off by an
older version of this code is completed with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

#: Any constant identifies the interaction writers' advisory lock on PostgreSQL.
_WRITER_LOCK = 0x1A7E_C0DE

_REFRESH = """
WITH touched AS ({touched}),
recomputed AS (
    SELECT i.id,
           LEAD(i.started_at) OVER (
               PARTITION BY i.contract_id, i.customer_id ORDER BY i.started_at, i.id
           ) AS next_at
    FROM touched t CROSS JOIN interaction i  -- SQLite: the few pairs drive, the index serves
    WHERE i.contract_id = t.contract_id AND i.customer_id = t.customer_id
)
UPDATE interaction
SET next_contact_at = recomputed.next_at
FROM recomputed
WHERE interaction.id = recomputed.id
  AND interaction.next_contact_at {distinct} recomputed.next_at
"""

_BATCH_PAIRS = """
    SELECT DISTINCT contract_id, customer_id
    FROM interaction {rowid_range_only}
    WHERE id > :first_new_id AND batch_id = :batch_id AND customer_id IS NOT NULL
"""

#: For one chunk's statements (PostgreSQL): each is driven by the chunk's few thousand keys
#: through an index, but the planner, with no statistics on the staging tables, would rather
#: hash the whole interaction table and JIT-compile that plan, on every chunk; and the chunk's
#: sorts (its pairs for LEAD, then file order) should stay in memory.
_CHUNK_SETTINGS = {"enable_hashjoin": "off", "enable_mergejoin": "off", "jit": "off", "work_mem": "'64MB'"}
_TUNE = "; ".join(f"SET LOCAL {name} TO {value}" for name, value in _CHUNK_SETTINGS.items())
_UNTUNE = "; ".join(f"SET LOCAL {name} TO DEFAULT" for name in _CHUNK_SETTINGS)

#: The id of a touched pair's last stored contact, in (started_at, id) order: one index seek.
_LAST_STORED = """
    SELECT i.id FROM interaction i
    WHERE i.contract_id = stage_touched.contract_id AND i.customer_id = stage_touched.customer_id
    ORDER BY i.started_at DESC, i.id DESC LIMIT 1
"""

#: SQLite: the pairs the chunk touched, with their last contact stored before it.
_SQLITE_TOUCHED = """
INSERT INTO stage_touched (contract_id, customer_id, first_new, last_id)
SELECT g.contract_id, g.customer_id, g.first_new,
       (SELECT i.id FROM interaction i
        WHERE i.contract_id = g.contract_id AND i.customer_id = g.customer_id AND i.id <= :before
        ORDER BY i.started_at DESC, i.id DESC LIMIT 1)
FROM (SELECT contract_id, customer_id, MIN(started_at) AS first_new
      FROM interaction NOT INDEXED
      WHERE id > :before AND customer_id IS NOT NULL
      GROUP BY contract_id, customer_id) g
"""

_LATE_PAIRS = """
    SELECT t.contract_id, t.customer_id
    FROM stage_touched t JOIN interaction p ON p.id = t.last_id
    WHERE p.started_at > t.first_new
"""


def refresh_next_contacts(session: Session, batch_id: int, first_new_id: int) -> int:
    """Recompute ``next_contact_at`` for every pair the batch touched; returns rows changed."""
    sqlite = _is_sqlite(session)
    if not sqlite:  # not while another import writes its chunks (SQLite: BEGIN IMMEDIATE)
        session.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _WRITER_LOCK})
    # SQLite would rather walk the whole customer index to get DISTINCT for free than read the
    # few new rows by rowid: NOT INDEXED keeps a late import of 100 rows from scanning 10M.
    touched = _BATCH_PAIRS.format(rowid_range_only="NOT INDEXED" if sqlite else "")
    result = session.execute(
        text(_REFRESH.format(touched=touched, distinct=_distinct(sqlite))),
        {"batch_id": batch_id, "first_new_id": first_new_id},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def chain_chunk(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows (``STORED`` values, then the file line) with the next contact of their (contract,
    customer) pair within the chunk inserted before the line: in (started_at, file order)
    order, over the first row of each (contract, interaction id) key (a repeated key is not
    stored, so it neither points nor is pointed at). Pure Python, run by the import's reader."""
    seen: set[tuple[Any, Any]] = set()
    chained: list[int] = []
    for position, row in enumerate(rows):
        key = (row[_CONTRACT], row[_INTERACTION])
        if key in seen:
            continue
        seen.add(key)
        if row[_CUSTOMER] is not None:
            chained.append(position)
    chained.sort(key=lambda p: (rows[p][_CONTRACT], rows[p][_CUSTOMER], rows[p][_STARTED], p))
    following: list[Any] = [None] * len(rows)
    for this, after in pairwise(chained):
        a, b = rows[this], rows[after]
        if a[_CONTRACT] == b[_CONTRACT] and a[_CUSTOMER] == b[_CUSTOMER]:
            following[this] = b[_STARTED]
    return [(*row[:-1], nxt, row[-1]) for row, nxt in zip(rows, following, strict=True)]


#: Positions in a stored row (``billing.ingest.interactions.STORED``).
_CONTRACT, _INTERACTION, _CUSTOMER, _STARTED = 0, 1, 3, 4


def write_interactions(session: Session, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
    """Insert new ``rows`` (``columns`` values, the next contact within the chunk from
    ``chain_chunk``, then the file line), fixing the stored contacts they follow; returns how
    many rows were new. A key seen twice in ``rows`` keeps its first row; a key stored
    already is skipped."""
    if not rows:
        return 0
    if _is_sqlite(session):
        return _write_sqlite(session, columns, rows)
    return _write_postgresql(session, columns, _first_of_each_key(rows))


def _write_sqlite(session: Session, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
    """SQLite: one ``executemany`` straight into the table, chains included (no second
    binding of every row into a staging table)."""
    driver: Any = session.connection().connection.driver_connection
    run = session.connection().exec_driver_sql
    before_id = driver.execute("SELECT coalesce(max(id), 0) FROM interaction").fetchone()[0]
    stored = (*columns, "next_contact_at")
    width = len(stored)
    before = driver.total_changes
    driver.executemany(
        f"INSERT INTO interaction ({', '.join(stored)}) VALUES ({', '.join('?' for _ in stored)}) "
        "ON CONFLICT (contract_id, interaction_id) DO NOTHING",
        [row[:width] for row in rows],
    )
    inserted = int(driver.total_changes - before)
    if not inserted:
        return 0
    driver.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_touched "
        "(contract_id INTEGER, customer_id TEXT, first_new INTEGER, last_id INTEGER)"
    )
    run(_SQLITE_TOUCHED, {"before": before_id})
    # A key repeated inside the chunk is not a stored row: chain_chunk left it out already.
    keys = len({(row[_CONTRACT], row[_INTERACTION]) for row in rows})
    _link_stored(run, sqlite=True, all_new=inserted == keys)
    run("DELETE FROM stage_touched")
    return inserted


def _write_postgresql(session: Session, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> int:
    """PostgreSQL: ``COPY`` into a staging table, then one ``INSERT ... SELECT`` in file order."""
    staged = (*columns, "chunk_next", "seq")
    names = ", ".join(columns)
    driver: Any = session.connection().connection.driver_connection
    driver.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITER_LOCK,))
    driver.execute(_TUNE)
    driver.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_chunk ON COMMIT DELETE ROWS AS "
        f"SELECT {names}, 0::bigint AS chunk_next, 0::bigint AS seq FROM interaction WITH NO DATA"
    )
    driver.execute(
        "CREATE TEMP TABLE IF NOT EXISTS stage_touched "
        "(contract_id bigint, customer_id text, first_new bigint, last_id bigint) ON COMMIT DELETE ROWS"
    )
    with driver.cursor() as cursor, cursor.copy(f"COPY stage_chunk ({', '.join(staged)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    run = session.connection().exec_driver_sql
    run(
        f"""INSERT INTO stage_touched (contract_id, customer_id, first_new, last_id)
        SELECT g.contract_id, g.customer_id, g.first_new, ({_LAST_STORED.replace("stage_touched", "g")})
        FROM (SELECT contract_id, customer_id, MIN(started_at) AS first_new
              FROM stage_chunk WHERE customer_id IS NOT NULL
              GROUP BY contract_id, customer_id) g"""
    )
    inserted = run(
        f"""INSERT INTO interaction ({names}, next_contact_at)
        SELECT {names}, chunk_next FROM stage_chunk ORDER BY seq
        ON CONFLICT (contract_id, interaction_id) DO NOTHING"""
    ).rowcount
    if inserted:
        _link_stored(run, sqlite=False, all_new=inserted == len(rows))
    run("DELETE FROM stage_chunk")
    run("DELETE FROM stage_touched")
    driver.execute(_UNTUNE)
    return int(inserted)


def _link_stored(run: Any, sqlite: bool, all_new: bool) -> None:
    """After the chunk's rows are in: point each pair's last stored contact at the chunk's
    first, and recompute whole the pairs that got a late contact. When some rows were not
    new after all (a key stored between the check and the insert), every touched pair is
    recomputed whole: their chains were computed with rows that did not go in."""
    if all_new:
        # The last stored contact had no next one; the chunk's first contact follows it now.
        run(
            "UPDATE interaction SET next_contact_at = t.first_new FROM stage_touched t "
            "WHERE interaction.id = t.last_id AND interaction.started_at <= t.first_new"
        )
        if not run(f"SELECT EXISTS ({_LATE_PAIRS})").scalar():
            return
        touched = _LATE_PAIRS
    else:
        touched = "SELECT contract_id, customer_id FROM stage_touched"
    run(_REFRESH.format(touched=touched, distinct=_distinct(sqlite)))


def _first_of_each_key(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows keep file order; of a (contract, interaction id) seen twice, the first counts."""
    keys = {(row[0], row[1]) for row in rows}
    if len(keys) == len(rows):
        return rows
    seen: set[tuple[Any, Any]] = set()
    unique = []
    for row in rows:
        key = (row[0], row[1])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _distinct(sqlite: bool) -> str:
    return "IS NOT" if sqlite else "IS DISTINCT FROM"
