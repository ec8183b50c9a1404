"""``billing privacy erase --contract C --customer RAW_ID``: unlink one customer.

The customer's pseudonym on the contract is replaced, in every interaction, by one new random
token (``erased:`` + 32 hex digits) shared by those rows only: nothing (no key, no id) leads to
them any more, yet they stay linked to each other, so the repeat-contact rule, every count and
every invoice stay exactly as they were, measured from the rollup, from the rows or as of any
import batch. Kept rejected rows that hold the customer's pseudonym get the token too; sealed
ones are opened, and their copy of the id replaced, before they are sealed again. The request
is recorded (``erasure_request``, and the audit trail) without the id in any form. A later
import of the same id gets the customer's pseudonym again: a new customer to the engine.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Engine, select, update

from billing.contracts.store import get_contract
from billing.core.limits import CUSTOMER_ID, REFERENCE
from billing.core.problems import Conflict
from billing.measurement.ingest.private import is_sealed, seal, unseal
from billing.measurement.pseudonyms import pseudonymizer_for
from billing.measurement.rollup import lock_writers
from billing.storage.audit import record
from billing.storage.db import transaction
from billing.storage.models import ErasureRequest, Interaction, RejectedRow, utcnow


def erase(
    engine: Engine, code: str, customer: str, actor: str, reference: str | None = None, now: datetime | None = None
) -> ErasureRequest:
    """Unlink ``customer`` (the id as the client knows it) from every row of contract ``code``."""
    problem = CUSTOMER_ID.problem_hidden(customer) or (reference and REFERENCE.problem(reference))
    if problem:
        raise Conflict(problem)
    at = now or utcnow()
    with transaction(engine) as session:
        contract = get_contract(session, code)
        assert contract.id is not None
        lock_writers(session)
        key = pseudonymizer_for(session)
        pseudonym = key.of(code, customer)
        token = f"erased:{secrets.token_hex(16)}"
        i = Interaction.__table__.c  # type: ignore[attr-defined]
        unlinked = session.execute(
            update(Interaction.__table__)  # type: ignore[attr-defined]
            .where(i.contract_id == contract.id, i.customer_id == pseudonym)
            .values(customer_id=token)
        ).rowcount
        kept = 0
        t = RejectedRow.__table__.c  # type: ignore[attr-defined]
        for row_id, raw, raw_format in session.execute(
            select(t.id, t.raw, t.raw_format).where(t.kind == "interactions")
        ).all():
            if is_sealed(raw_format):
                text, inner = unseal(key, raw)
                if customer not in text and pseudonym not in text:
                    continue
                new_raw, new_format = (
                    seal(key, text.replace(customer, token).replace(pseudonym, token), inner),
                    raw_format,
                )
            elif pseudonym in raw:
                new_raw, new_format = raw.replace(pseudonym, token), raw_format
            else:
                continue
            session.execute(
                update(RejectedRow.__table__).where(t.id == row_id).values(raw=new_raw, raw_format=new_format)  # type: ignore[attr-defined]
            )
            kept += 1
        request = ErasureRequest(
            contract_id=contract.id,
            requested_at=at,
            actor=actor,
            reference=reference,
            interactions_unlinked=int(unlinked or 0),
            rejected_rows_unlinked=kept,
        )
        session.add(request)
        session.flush()
        record(
            session,
            actor,
            "privacy.erased",
            "contract",
            code,
            {"request": request.id, "interactions": request.interactions_unlinked, "rejected_rows": kept},
            at=at,
        )
        return request


__all__ = ["erase"]
