"""Period readiness: each active contract's state for a month (open, grace, closable, drafted,
issued, reconciled) and the date it becomes closable, as ``billing periods status`` shows it.
A client token sees its own contracts only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from billing.api.deps import Caller, SessionDep
from billing.api.errors import period_of
from billing.api.schemas import PERIOD_PATTERN, PeriodState, PeriodStates
from billing.core.periods import Period
from billing.invoicing.periods import period_status

router = APIRouter(prefix="/v1/periods", tags=["periods"])


@router.get("", response_model=PeriodStates)
def list_states(
    session: SessionDep,
    principal: Caller,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN, description="YYYY-MM (default: last month)")] = None,
) -> PeriodStates:
    now = datetime.now(UTC)
    month = period_of(period) if period else Period.of_date(now.date()).previous()
    states, _ = period_status(session, month, now, principal.client_id)
    data = [PeriodState.model_validate(state.as_json()) for state in states]
    return PeriodStates(period=str(month), data=data, count=len(data))
