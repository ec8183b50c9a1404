"""Finance previews: the KPIs measured now and the invoice a period would get (nothing stored)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from billing.api.deps import FinanceToken, SessionDep
from billing.api.errors import period_of, service_errors
from billing.api.schemas import PERIOD_PATTERN
from billing.api.scope import OwnedContract
from billing.contracts.store import terms_in_force
from billing.measurement.kpis import kpi_report
from billing.rating.service import outcomes_for, rate_contract

router = APIRouter(prefix="/v1/contracts", tags=["finance previews"])

PeriodQuery = Annotated[str, Query(pattern=PERIOD_PATTERN, description="YYYY-MM")]


@router.get("/{code}/rate")
def rate_preview(session: SessionDep, _: FinanceToken, contract: OwnedContract, period: PeriodQuery) -> dict[str, Any]:
    """The rated lines, service levels and totals of ``billing rate --json``; nothing is stored."""
    with service_errors():
        return rate_contract(session, contract.code, period_of(period)).as_json()


@router.get("/{code}/measure")
def measure_kpis(session: SessionDep, _: FinanceToken, contract: OwnedContract, period: PeriodQuery) -> dict[str, Any]:
    """Every KPI of the period measured on today's data, as ``billing kpis --json``."""
    month = period_of(period)
    with service_errors():
        item = terms_in_force(session, contract.code, month)
        outcomes = outcomes_for(session, item, [month])[month]
    return {"contract": contract.code, "period": period, "kpis": kpi_report(outcomes)}
