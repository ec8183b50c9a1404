"""``Interaction.next_contact_at``: the start of the same customer's next contact on the same
contract, the input of the repeat-contact rule (a resolution is disqualified when the next
contact starts within ``repeat_window_days``, even in the next period).

After an import, one set-based UPDATE recomputes it with ``LEAD`` over the (contract,
customer) pairs that import touched, and writes only the rows whose value changed: a late
contact inserted before existing ones moves its predecessor's value, nothing else moves.
The pairs are found from the rows the import added (ids above the newest id before it).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

_REFRESH = """
WITH touched AS (
    SELECT DISTINCT contract_id, customer_id
    FROM interaction {rowid_range_only}
    WHERE id > :first_new_id AND batch_id = :batch_id AND customer_id IS NOT NULL
),
recomputed AS (
    SELECT i.id,
           LEAD(i.started_at) OVER (
               PARTITION BY i.contract_id, i.customer_id ORDER BY i.started_at, i.id
           ) AS next_at
    FROM interaction i
    JOIN touched t ON t.contract_id = i.contract_id AND t.customer_id = i.customer_id
)
UPDATE interaction
SET next_contact_at = recomputed.next_at
FROM recomputed
WHERE interaction.id = recomputed.id
  AND interaction.next_contact_at {distinct} recomputed.next_at
"""


def refresh_next_contacts(session: Session, batch_id: int, first_new_id: int) -> int:
    """Recompute ``next_contact_at`` for every pair the batch touched; returns rows changed."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    # SQLite would rather walk the whole customer index to get DISTINCT for free than read the
    # few new rows by rowid: NOT INDEXED keeps a late import of 100 rows from scanning 10M.
    sql = _REFRESH.format(
        distinct="IS NOT" if sqlite else "IS DISTINCT FROM", rowid_range_only="NOT INDEXED" if sqlite else ""
    )
    result = session.execute(text(sql), {"batch_id": batch_id, "first_new_id": first_new_id})
    return int(result.rowcount)  # type: ignore[attr-defined]
