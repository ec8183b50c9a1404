"""Contracts and their stored KPIs (finance: all; a client token: its own contracts)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from sqlmodel import col, select

from billing.api.deps import Caller, SessionDep
from billing.api.schemas import ContractDetail, ContractPublic, ContractsPublic, CurrentPeriod, KpiPoint, KpiTrendPublic
from billing.api.scope import OwnedContract
from billing.contracts.store import terms_at, versions_of
from billing.contracts.terms_json import terms_to_json
from billing.storage.models import Contract, Document

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])


def _public(session: SessionDep, contract: Contract) -> ContractPublic:
    versions = [v.effective_from for v in versions_of(session, contract.id or 0)]
    return ContractPublic(code=contract.code, client_id=contract.client_id, versions=versions)


@router.get("", response_model=ContractsPublic)
def list_contracts(session: SessionDep, principal: Caller) -> ContractsPublic:
    query = select(Contract).order_by(col(Contract.code))
    if principal.client_id is not None:
        query = query.where(col(Contract.client_id) == principal.client_id)
    rows = [_public(session, c) for c in session.exec(query).all()]
    return ContractsPublic(data=rows, count=len(rows))


@router.get("/{code}", response_model=ContractDetail)
def show_contract(session: SessionDep, contract: OwnedContract) -> ContractDetail:
    base = _public(session, contract)
    terms = terms_at(session, contract.code, datetime.now(UTC).date()).terms
    return ContractDetail(**base.model_dump(), terms=terms_to_json(terms))


@router.get("/{code}/kpis", response_model=KpiTrendPublic)
def kpi_trend(session: SessionDep, contract: OwnedContract) -> KpiTrendPublic:
    """The KPIs and service-level results of each billed period, as stored on its invoice."""
    query = (
        select(Document)
        .where(col(Document.contract_id) == contract.id, col(Document.kind) == "invoice")
        .where(col(Document.status).in_(("issued", "paid")))
        .order_by(col(Document.period))
    )
    points = [
        KpiPoint(period=d.period, document=d.number_text, kpis=d.kpis or {}, service_levels=d.service_levels or [])
        for d in session.exec(query).all()
    ]
    return KpiTrendPublic(contract=contract.code, data=points, count=len(points))


@router.get("/{code}/current", response_model=CurrentPeriod)
def current_period(
    session: SessionDep,
    contract: OwnedContract,
    as_of: Annotated[date | None, Query(description="Default: today in the contract's time zone")] = None,
    method: Annotated[str, Query(pattern="^(linear|weekday)$")] = "linear",
) -> CurrentPeriod:
    """The period to date: KPIs, service levels (met, at_risk, missed, not_assessed) with the
    credit if the month ended now, the projected month and the projected invoice."""
    from billing.core.limits import date_problem
    from billing.rating.current import current, today_for
    from billing.rating.engine import PeriodOutsideContract

    day = as_of or today_for(session, contract.code)
    problem = date_problem(day)
    if problem:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"as_of {problem}")
    try:
        return CurrentPeriod(**current(session, contract.code, day, method))
    except (PeriodOutsideContract, LookupError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
