"""Clients and their statements (finance: any client; a client token: itself only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import Response
from sqlmodel import col, select

from billing.api.deps import Caller, SessionDep
from billing.api.errors import period_of
from billing.api.schemas import PERIOD_PATTERN, ClientPublic, ClientsPublic, StatementPublic
from billing.api.scope import OwnedClient
from billing.core.periods import Period
from billing.presentation.templating import pdf
from billing.statements.rendering import statement_html
from billing.statements.serialize import statement_json
from billing.statements.store import load_statement
from billing.statements.views import Statement
from billing.storage.models import Client

router = APIRouter(prefix="/v1/clients", tags=["clients"])

FromQuery = Annotated[str | None, Query(alias="from", pattern=PERIOD_PATTERN, description="First month, YYYY-MM")]
ToQuery = Annotated[str | None, Query(alias="to", pattern=PERIOD_PATTERN, description="Last month, YYYY-MM")]


def statement_range(first: str | None, last: str | None, today: datetime | None = None) -> tuple[Period, Period]:
    """The months asked for; by default the twelve months ending with the current one."""
    end = period_of(last) if last else Period.of_date((today or datetime.now(UTC)).date())
    start = period_of(first) if first else end.shift(-11)
    if start > end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'from' must not be after 'to'")
    return start, end


def client_public(client: Client) -> ClientPublic:
    return ClientPublic(id=client.id, name=client.name, locale=client.locale, tax_id=client.tax_id)


@router.get("", response_model=ClientsPublic)
def list_clients(session: SessionDep, principal: Caller) -> ClientsPublic:
    query = select(Client).order_by(col(Client.id))
    if principal.client_id is not None:
        query = query.where(col(Client.id) == principal.client_id)
    rows = [client_public(c) for c in session.exec(query).all()]
    return ClientsPublic(data=rows, count=len(rows))


@router.get("/{client_id}", response_model=ClientPublic)
def show_client(client: OwnedClient) -> ClientPublic:
    return client_public(client)


def _statement(session: SessionDep, client: Client, first: str | None, last: str | None) -> Statement:
    start, end = statement_range(first, last)
    return load_statement(session, client.id, start, end)


@router.get("/{client_id}/statement", response_model=StatementPublic, response_model_by_alias=True)
def show_statement(session: SessionDep, client: OwnedClient, first: FromQuery = None, last: ToQuery = None) -> Response:
    """Invoices, notes, payments and the running balance, with each invoice's KPIs and
    service-level results (as stored when it was rated)."""
    data = statement_json(_statement(session, client, first, last))
    return Response(StatementPublic.model_validate(data).model_dump_json(by_alias=True), media_type="application/json")


@router.get(
    "/{client_id}/statement.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The statement as PDF"}},
)
def statement_pdf(session: SessionDep, client: OwnedClient, first: FromQuery = None, last: ToQuery = None) -> Response:
    statement = _statement(session, client, first, last)
    name = f"statement-{client.id}-{statement.first}-{statement.last}.pdf"
    return Response(
        pdf(statement_html(statement, for_pdf=True)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
