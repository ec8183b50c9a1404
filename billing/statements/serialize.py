"""Statements and documents as JSON-ready data: amounts as decimal strings in the currency's
minor units, codes as codes (labels are for rendering)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.core import currencies
from billing.core.money import quantum
from billing.presentation.words import amount_in_words
from billing.statements.views import DocumentView, Statement


def money_text(value: Decimal, currency_code: str) -> str:
    """An amount as a decimal string in the currency's minor units (``"1234.50"``)."""
    return str(value.quantize(quantum(currencies.currency(currency_code).minor_units)))


def plain_number(value: Decimal) -> str:
    """A quantity without trailing zeros (``"5"``, ``"2.5"``, ``"18"``)."""
    return format(value.normalize(), "f")


def document_json(doc: DocumentView, locale: str | None = None) -> dict[str, Any]:
    """A document as JSON; ``amount_in_words`` in ``locale``'s language (default: the buyer's)."""

    def money(value: Decimal) -> str:
        return money_text(value, doc.currency)

    language = locale or (doc.buyer or {}).get("locale")

    return {
        "id": doc.id,
        "kind": doc.kind,
        "status": doc.status,
        "contract": doc.contract,
        "period": doc.period,
        "series": doc.series,
        "number": doc.number_text,
        "currency": doc.currency,
        "subtotal": money(doc.subtotal),
        "tax": money(doc.tax),
        "total": money(doc.total),
        "tax_name": doc.tax_name,
        "tax_rate": plain_number(doc.tax_rate),
        "issue_date": doc.issue_date.isoformat() if doc.issue_date else None,
        "due_date": doc.due_date.isoformat() if doc.due_date else None,
        "corrects": doc.corrects_number,
        "reason": doc.reason,
        "void_reason": doc.void_reason,
        "lines": [
            {
                "position": line.position,
                "charge": line.charge,
                "type": line.type,
                "description": line.description,
                "quantity": plain_number(line.quantity),
                "unit_price": None if line.unit_price is None else plain_number(line.unit_price),
                "amount": money(line.amount),
                "details": line.details,
            }
            for line in doc.lines
        ],
        "service_levels": list(doc.service_levels),
        "kpis": doc.kpis,
        "reconciliation": None
        if doc.reconciliation is None
        else {
            "reconciled_at": doc.reconciliation.reconciled_at.isoformat(),
            "net_difference": money(doc.reconciliation.net_difference),
            "within_tolerance": doc.reconciliation.within_tolerance,
            "causes": list(doc.reconciliation.causes),
            "proposed_note": doc.reconciliation.proposed_number,
        },
        "provisional": doc.provisional,
        "amount_in_words": amount_in_words(doc.total, doc.currency, language),
        "issuer": doc.issuer,
        "buyer": doc.buyer,
        "withholding": doc.withholding,
        "payable": money(doc.payable),
        "balance": None if doc.balance is None else money(doc.balance),
        "overdue": doc.overdue,
        "days_past_due": max(doc.days_past_due, 0) if doc.balance is not None else None,
    }


def statement_json(statement: Statement) -> dict[str, Any]:
    return {
        "client": {
            "id": statement.client.id,
            "name": statement.client.name,
            "locale": statement.client.locale,
            "tax_id": statement.client.tax_id,
            "legal_name": statement.client.legal_name,
            "tax_scheme": statement.client.tax_scheme,
            "address": statement.client.address,
            "billing_email": statement.client.billing_email,
        },
        "issuers": list(statement.issuers),
        "as_of": statement.as_of.isoformat() if statement.as_of else None,
        "overdue": [d.number_text for d in statement.overdue],
        "from": str(statement.first),
        "to": str(statement.last),
        "accounts": [
            {
                "currency": account.currency,
                "opening_balance": money_text(account.opening, account.currency),
                "charges": money_text(account.charges, account.currency),
                "credits": money_text(account.credits, account.currency),
                "closing_balance": money_text(account.closing, account.currency),
                "entries": [
                    {
                        "date": e.on.isoformat(),
                        "kind": e.kind,
                        "reference": e.reference,
                        "description": e.description,
                        "charge": money_text(e.charge, account.currency),
                        "credit": money_text(e.credit, account.currency),
                        "balance": money_text(e.balance, account.currency),
                        "document_id": e.document_id,
                    }
                    for e in account.entries
                ],
            }
            for account in statement.accounts
        ],
        "documents": [document_json(d, statement.client.locale) for d in statement.documents],
        "payments": [
            {
                "id": p.id,
                "document": p.document_number,
                "amount": money_text(p.amount, p.currency),
                "currency": p.currency,
                "received_on": p.received_on.isoformat(),
                "method": p.method,
                "reference": p.reference,
                "withheld": money_text(p.withheld, p.currency),
            }
            for p in statement.payments
        ],
    }
