"""Reading one client's statement from the database (repository functions: a session in,
views out; the balance brought forward is summed by the database)."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from billing.contracts.entities import IssuerUnknown, buyer_snapshot, issuer_snapshot, parties_of, resolve_issuer
from billing.contracts.identifiers import SCHEMES, display_tax_id
from billing.contracts.store import in_force, terms_from_source, versions_of
from billing.core.ageing import balance_due, days_past_due
from billing.core.periods import Period
from billing.statements.ranges import ISSUED, day_start, in_range
from billing.statements.views import (
    BILLED,
    ZERO,
    ClientView,
    DocumentView,
    LineView,
    PaymentView,
    ReconciliationView,
    Statement,
    assemble,
)
from billing.storage.models import (
    BillingEntity,
    Client,
    Contract,
    ContractVersion,
    Document,
    DocumentLine,
    Payment,
    Reconciliation,
)


def client_view(client: Client) -> ClientView:
    return ClientView(
        client.id,
        client.name,
        client.locale,
        display_tax_id(client.tax_scheme, client.tax_id) if client.tax_id else None,
        client.legal_name,
        client.tax_scheme,
        client.address,
        client.billing_email or client.email,
        SCHEMES[client.tax_scheme].label if client.tax_scheme in SCHEMES else None,
    )


def load_statement(
    session: Session,
    client_id: str,
    first: Period,
    last: Period,
    as_of: date | None = None,
    basis: str = ISSUED,
) -> Statement:
    """One client's statement for the months ``first``..``last`` (inclusive), by document
    date or by service period (``billing.statements.ranges``). The balance brought forward
    is summed by the database; each document's balance, and whether it is overdue, is as of
    ``as_of`` (default: today)."""
    client = session.get(Client, client_id)
    if client is None:
        raise LookupError(f"no client {client_id!r}")
    as_of = as_of or datetime.now(UTC).date()
    opening, documents, payments = in_range(session, client_id, first, last, basis, as_of)
    views = document_views(session, list(documents), as_of)
    pays = [
        PaymentView(
            p.id or 0, number, p.amount, p.currency, p.received_at.date(), p.method, p.reference, p.withheld or ZERO
        )
        for p, number in payments
    ]
    issuers = client_issuers(session, client_id, last)
    return assemble(client_view(client), first, last, views, pays, opening, issuers, as_of, basis)


def client_issuers(session: Session, client_id: str, period: Period) -> list[dict[str, Any]]:
    """The entities that bill a client's contracts in force in ``period``, as of now."""
    found: dict[str, dict[str, Any]] = {}
    for contract in session.exec(select(Contract).where(Contract.client_id == client_id)).all():
        assert contract.id is not None
        versions = versions_of(session, contract.id)
        if not versions:
            continue
        terms = in_force(versions, contract.id, period).terms
        try:
            row = resolve_issuer(session, terms)
        except IssuerUnknown:
            continue
        if row is not None:
            found.setdefault(row.code, issuer_snapshot(row, terms.currency.code))
    return [found[code] for code in sorted(found)]


def document_views(session: Session, documents: list[Document], as_of: date | None = None) -> list[DocumentView]:
    """Documents with their lines, contract codes, corrected numbers, parties and logos; with
    ``as_of``, what each invoice or debit note still owes that day."""
    ids = [d.id for d in documents if d.id is not None]
    lines: dict[int, list[LineView]] = {}
    if ids:
        for line in session.exec(
            select(DocumentLine)
            .where(col(DocumentLine.document_id).in_(ids))
            .order_by(col(DocumentLine.document_id), col(DocumentLine.position))
        ).all():
            lines.setdefault(line.document_id, []).append(
                LineView(
                    line.position,
                    line.charge,
                    line.type,
                    line.description,
                    line.quantity,
                    line.unit_price,
                    line.amount,
                    dict(line.details or {}),
                )
            )
    contract_ids = {d.contract_id for d in documents}
    codes = dict(
        session.exec(select(Contract.id, Contract.code).where(col(Contract.id).in_(contract_ids))).all()
        if contract_ids
        else []
    )
    corrected_ids = {d.corrects_id for d in documents if d.corrects_id is not None}
    corrected = {
        document_id: (number, issued)
        for document_id, number, issued in (
            session.exec(
                select(col(Document.id), col(Document.number_text), col(Document.issue_date)).where(
                    col(Document.id).in_(corrected_ids)
                )
            ).all()
            if corrected_ids
            else []
        )
    }
    reconciliations = _latest_reconciliations(session, ids)
    parties = {d.id: _parties(session, d) for d in documents}
    logos = entity_logos(session, {p[0]["code"] for p in parties.values() if p[0]})
    balances = _balances(session, documents, as_of) if as_of is not None else {}
    scopes = _level_scopes(session, {d.terms_version_id for d in documents if d.terms_version_id is not None})
    views = []
    for d in documents:
        issuer, buyer = parties[d.id]
        balance = balances.get(d.id or 0)
        views.append(
            DocumentView(
                id=d.id or 0,
                kind=d.kind,
                status=d.status,
                contract=codes.get(d.contract_id, ""),
                period=d.period,
                series=d.series,
                number_text=d.number_text,
                currency=d.currency,
                subtotal=d.subtotal,
                tax=d.tax,
                total=d.total,
                tax_name=d.tax_name,
                tax_rate=d.tax_rate,
                issue_date=d.issue_date,
                due_date=d.due_date,
                corrects_number=corrected[d.corrects_id][0] if d.corrects_id in corrected else None,
                corrects_issue_date=corrected[d.corrects_id][1] if d.corrects_id in corrected else None,
                reason=d.reason,
                void_reason=d.void_reason,
                lines=tuple(lines.get(d.id or 0, [])),
                service_levels=tuple(
                    {**scopes.get((d.terms_version_id or 0, str(level.get("id"))), {}), **level}
                    for level in d.service_levels or []
                ),
                kpis=dict(d.kpis or {}),
                reconciliation=reconciliations.get(d.id or 0),
                provisional=bool(d.provisional),
                issuer=issuer,
                buyer=buyer,
                logo=logos.get(issuer["code"]) if issuer else None,
                withholding=d.withholding,
                withholding_amount=d.withholding_amount,
                balance=balance,
                days_past_due=days_past_due(d.due_date, as_of) if as_of and d.due_date else 0,
            )
        )
    return views


def _level_scopes(session: Session, version_ids: set[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """What each service level of these contract versions measures (its channels and
    handlers, its threshold, and whether the target is at least or at most), by (version,
    level id): a stored result names its level and value, the terms say what was measured."""
    out: dict[tuple[int, str], dict[str, Any]] = {}
    for version in session.exec(select(ContractVersion).where(col(ContractVersion.id).in_(version_ids))).all():
        try:
            terms = terms_from_source(version.source_text, version.source_name)
        except ValueError:  # terms stored by an older engine that no longer parse: no scope, still a page
            continue
        for level in terms.service_levels.levels if terms.service_levels else ():
            out[(version.id or 0, level.id)] = {
                "channels": list(level.filter.channels or ()),
                "handled_by": list(level.filter.handled_by or ()),
                "comparison": "at least" if level.metric.higher_is_better else "at most",
                "threshold_seconds": level.threshold_seconds if level.metric.value == "service_level" else None,
            }
    return out


def _parties(session: Session, document: Document) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The parties as issued; for a draft, as they would be issued now (best effort: a draft
    whose issuer cannot be told yet shows none)."""
    if document.status != "draft" or document.terms_version_id is None:
        return document.issuer, document.buyer
    version = session.get(ContractVersion, document.terms_version_id)
    if version is None:
        return None, None
    terms = terms_from_source(version.source_text, version.source_name)
    try:
        return parties_of(session, terms, document.currency)
    except IssuerUnknown:
        return None, buyer_snapshot(terms.client)


def _balances(session: Session, documents: list[Document], as_of: date) -> dict[int, Decimal]:
    """What each issued invoice or debit note still owes on ``as_of``."""
    owed = [d for d in documents if d.id and d.status in BILLED and d.kind != "credit_note"]
    ids = [d.id for d in owed if d.id is not None]
    if not ids:
        return {}
    until = day_start(as_of + timedelta(days=1))
    credited = dict(
        session.exec(
            select(Document.corrects_id, func.sum(Document.total))
            .where(
                col(Document.corrects_id).in_(ids),
                col(Document.kind) == "credit_note",
                col(Document.status).in_(BILLED),
                col(Document.issue_date) <= as_of,
            )
            .group_by(col(Document.corrects_id))
        ).all()
    )
    paid = {
        document_id: (Decimal(amount or 0), Decimal(withheld or 0))
        for document_id, amount, withheld in session.exec(
            select(Payment.document_id, func.sum(Payment.amount), func.sum(Payment.withheld))
            .where(col(Payment.document_id).in_(ids), col(Payment.received_at) < until)
            .group_by(col(Payment.document_id))
        ).all()
    }
    out = {}
    for d in owed:
        assert d.id is not None
        received, withheld = paid.get(d.id, (ZERO, ZERO))
        out[d.id] = balance_due(d.total, Decimal(credited.get(d.id) or 0), received, withheld)
    return out


def _latest_reconciliations(session: Session, document_ids: list[int]) -> dict[int, ReconciliationView]:
    if not document_ids:
        return {}
    rows = session.exec(
        select(Reconciliation, Document.number_text)
        .outerjoin(Document, col(Document.id) == col(Reconciliation.proposed_document_id))
        .where(col(Reconciliation.document_id).in_(document_ids))
        .order_by(col(Reconciliation.reconciled_at), col(Reconciliation.id))
    ).all()
    latest: dict[int, ReconciliationView] = {}
    for row, proposed in rows:  # later rows replace earlier ones
        result = row.result or {}
        causes = tuple(dict.fromkeys(str(d.get("cause", "")) for d in result.get("discrepancies", [])))
        latest[row.document_id] = ReconciliationView(
            reconciled_at=row.reconciled_at,
            net_difference=Decimal(str(result.get("net_difference", "0"))),
            within_tolerance=bool(result.get("within_tolerance", True)),
            causes=causes,
            proposed_number=proposed,
        )
    return latest


def entity_logos(session: Session, codes: set[str]) -> dict[str, str]:
    """The logos of these entities as data: URLs (an entity without one is left out)."""
    if not codes:
        return {}
    rows = session.exec(select(BillingEntity).where(col(BillingEntity.code).in_(codes))).all()
    return {
        row.code: f"data:{row.logo_type};base64,{base64.b64encode(row.logo).decode('ascii')}"
        for row in rows
        if row.logo is not None and row.logo_type is not None
    }
