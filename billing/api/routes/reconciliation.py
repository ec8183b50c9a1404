"""Finance: reconcile an issued period against today's data (``billing reconcile``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from pydantic import BaseModel, Field

from billing.api.deps import EngineDep, FinanceToken, SessionDep
from billing.api.errors import period_of, service_errors
from billing.api.idempotency import Fingerprint, IdempotencyKey, run_once
from billing.api.schemas import PERIOD_PATTERN
from billing.api.scope import OwnedContract
from billing.invoicing.documents import DocumentConflict
from billing.reconciliation.service import compare, reconcile_contract

router = APIRouter(prefix="/v1/contracts", tags=["reconciliation"])


class ReconcileRequest(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN)
    propose: bool = Field(default=False, description="Write the DRAFT note that settles what is open (never issued)")


@router.get("/{code}/reconciliation")
def preview(
    session: SessionDep,
    _: FinanceToken,
    contract: OwnedContract,
    period: Annotated[str, Query(pattern=PERIOD_PATTERN)],
) -> dict[str, Any]:
    """Billed against re-measured, line by line and level by level; nothing is recorded."""
    with service_errors(conflicts=(DocumentConflict,)):
        return compare(session, contract.code, period_of(period)).as_json()


@router.post("/{code}/reconcile")
def reconcile(
    body: ReconcileRequest,
    engine: EngineDep,
    principal: FinanceToken,
    contract: OwnedContract,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
) -> Response:
    """Record the reconciliation of an issued period; with ``propose`` also draft the note."""

    def action() -> tuple[int, object]:
        with service_errors(conflicts=(DocumentConflict,)):
            outcome = reconcile_contract(
                engine, contract.code, period_of(body.period), f"api:{principal.name}", propose_note=body.propose
            )
        return status.HTTP_200_OK, outcome.as_json()

    return run_once(engine, principal, key, fingerprint, action)
