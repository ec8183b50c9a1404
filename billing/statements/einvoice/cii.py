"""A document as an EN 16931 Cross Industry Invoice (the XML of Factur-X / ZUGFeRD, profile
EN 16931), built with ``drafthorse``, pure: a ``DocumentView`` in, XML bytes out.

What goes where (business terms of EN 16931):

- BT-1 number, BT-2 issue date, BT-3 type (380 invoice, 381 credit note, 383 debit note),
  BT-5 currency, BT-9 due date, BT-13 the client's purchase order, BT-25 the invoice a note
  corrects, BT-73/74 the billed period.
- Seller (BG-4) and buyer (BG-7) from the parties frozen at issue: names, postal addresses
  (the country is required), the seller's tax id (BT-31 ``VA`` for a VAT id with its country
  prefix, BT-32 ``FC`` for another tax registration), the buyer's VAT id (BT-48) or legal
  registration (BT-47, a RUC or an EIN).
- One line per document line (BT-126..131): quantity and net price when they give the line's
  amount exactly, else one unit at the amount; a negative line (a service credit) is one
  negative unit at a positive price (BR-27).
- One tax breakdown (BG-23): category S at the document's rate, or O (not subject) at 0 %.
- Totals (BG-22): line total = tax basis = the subtotal, tax total, grand total and amount
  due = the total; a withholding (detraccion) and the amount in words are notes (BT-22).
- Payment means (BG-16): the issuer's first account in the document's currency (IBAN with
  SEPA code 58 in euros, else 30 credit transfer with the account or CCI) and its BIC.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drafthorse.models.accounting import ApplicableTradeTax
from drafthorse.models.document import Document
from drafthorse.models.note import IncludedNote
from drafthorse.models.party import TaxRegistration
from drafthorse.models.payment import PaymentMeans, PaymentTerms
from drafthorse.models.tradelines import LineItem

from billing.core.currencies import currency as currency_of
from billing.core.money import quantum
from billing.statements.views import DocumentView, LineView

GUIDELINE = "urn:cen.eu:en16931:2017"
SCHEMA = "FACTUR-X_EN16931"
TYPE_CODES = {"invoice": "380", "credit_note": "381", "debit_note": "383"}
#: Tax schemes whose ids are VAT ids (BT-31/BT-48), and the country prefix EN 16931 wants.
VAT_PREFIX = {"es_cif": "ES", "es_nif": "ES", "gb_vat": "GB", "eu_vat": ""}
QUANTITY = Decimal("0.0001")


class EInvoiceRefused(ValueError):
    """The document cannot be an e-invoice (a draft, or a party without its country)."""


def refusal(doc: DocumentView) -> str | None:
    """Why ``doc`` cannot be written as an EN 16931 e-invoice, or None."""
    name = doc.number_text or f"draft {doc.id}"
    if doc.status == "draft" or not doc.number_text or doc.issue_date is None:
        return f"{name} is a draft: only an issued document is an e-invoice (issue it first)"
    for role, party in (("issuer", doc.issuer), ("buyer", doc.buyer)):
        if not party:
            return f"{name} was issued without its {role}: load the billing entity and the client block first"
        if not (party.get("address") or {}).get("country"):
            what = "the entity file's address" if role == "issuer" else "client.address in the contract"
            return f"{name}: EN 16931 needs the {role}'s country ({what})"
    return None


def cii_xml(doc: DocumentView) -> bytes:
    """The document as Factur-X EN 16931 XML, checked against the official XSD by drafthorse;
    ``EInvoiceRefused`` when it cannot be one."""
    problem = refusal(doc)
    if problem:
        raise EInvoiceRefused(problem)
    assert doc.issuer is not None and doc.buyer is not None and doc.issue_date is not None
    unit = quantum(currency_of(doc.currency).minor_units)

    def money(value: Decimal) -> Decimal:
        return value.quantize(unit)

    x = Document()
    x.context.guideline_parameter.id = GUIDELINE
    x.header.id = doc.number_text
    x.header.type_code = TYPE_CODES[doc.kind]
    x.header.issue_date_time = doc.issue_date
    for text in _notes(doc):
        note = IncludedNote()
        note.content = text
        x.header.notes.add(note)
    trade = x.trade
    _party(trade.agreement.seller, doc.issuer, seller=True)
    _party(trade.agreement.buyer, doc.buyer, seller=False)
    if doc.buyer.get("purchase_order"):
        trade.agreement.buyer_order.issuer_assigned_id = doc.buyer["purchase_order"]
    trade.delivery.event.occurrence = _period_end(doc)
    settlement = trade.settlement
    settlement.currency_code = doc.currency
    if doc.kind == "invoice":
        settlement.period.start, settlement.period.end = _period_start(doc), _period_end(doc)
    if doc.corrects_number:
        settlement.invoice_referenced_document.issuer_assigned_id = doc.corrects_number
        if doc.corrects_issue_date:
            settlement.invoice_referenced_document.issue_date_time = doc.corrects_issue_date
    _payment(settlement, doc)
    category, rate = _category(doc)
    for line in doc.lines:
        trade.items.add(_line(line, doc, category, rate, money))
    tax = ApplicableTradeTax()
    tax.calculated_amount = money(doc.tax)
    tax.basis_amount = money(doc.subtotal)
    tax.type_code = "VAT"
    tax.category_code = category
    if category == "O":
        tax.exemption_reason = "Not subject to VAT"
    else:
        tax.rate_applicable_percent = rate
    settlement.trade_tax.add(tax)
    summation = settlement.monetary_summation
    summation.line_total = money(sum((line.amount for line in doc.lines), Decimal(0)))
    summation.charge_total = money(Decimal(0))
    summation.allowance_total = money(Decimal(0))
    summation.tax_basis_total = (money(doc.subtotal), None)
    summation.tax_total = (money(doc.tax), doc.currency)
    summation.grand_total = (money(doc.total), None)
    summation.due_amount = money(doc.total)
    data: bytes = x.serialize(schema=SCHEMA)
    return data


def _notes(doc: DocumentView) -> list[str]:
    from billing.presentation.words import amount_in_words

    locale = (doc.buyer or {}).get("locale")
    notes = [amount_in_words(doc.total, doc.currency, locale)]
    if doc.withholding:
        w = doc.withholding
        payable = doc.payable.quantize(quantum(currency_of(doc.currency).minor_units))
        notes.append(
            f"{w['name']} {w['percent']}%: {w['amount']} {doc.currency} (account {w['account']}); "
            f"payable {payable} {doc.currency}. {w['legend']}"
        )
    if doc.reason and doc.kind != "invoice":
        notes.append(doc.reason)
    return notes


def _party(target: Any, party: dict[str, Any], seller: bool) -> None:
    target.name = party.get("legal_name") or party.get("name")
    address = party.get("address") or {}
    lines = list(address.get("lines") or [])
    for field, line in zip(("line_one", "line_two", "line_three"), lines, strict=False):
        setattr(target.address, field, line)
    if address.get("postal_code"):
        target.address.postcode = address["postal_code"]
    if address.get("city"):
        target.address.city_name = address["city"]
    if address.get("region"):
        target.address.country_subdivision = address["region"]
    target.address.country_id = address["country"]
    email = party.get("email") if seller else party.get("billing_email")
    if email:
        target.electronic_address.uri_ID = ("EM", email)
    tax_id, scheme = party.get("tax_id"), party.get("tax_scheme")
    if not tax_id:
        return
    if scheme in VAT_PREFIX:
        prefix = VAT_PREFIX[scheme]
        value = tax_id if tax_id.startswith(prefix) else prefix + tax_id
        target.tax_registrations.add(TaxRegistration(id=("VA", value)))
    elif seller:
        target.tax_registrations.add(TaxRegistration(id=("FC", tax_id)))
    else:
        target.legal_organization.id = ("", tax_id)


def _payment(settlement: Any, doc: DocumentView) -> None:
    assert doc.issuer is not None
    if doc.kind != "credit_note" and doc.due_date is not None:
        terms = PaymentTerms()
        terms.due = doc.due_date
        settlement.terms.add(terms)
    accounts = [a for a in doc.issuer.get("bank_accounts") or [] if a.get("currency") == doc.currency]
    if not accounts or doc.kind == "credit_note":
        return
    account = accounts[0]
    means = PaymentMeans()
    means.type_code = "58" if account.get("iban") and doc.currency == "EUR" else "30"
    if account.get("iban"):
        means.payee_account.iban = account["iban"]
    else:
        means.payee_account.proprietary_id = account.get("account") or account.get("cci")
    means.payee_account.account_name = doc.issuer.get("legal_name")
    if account.get("swift"):
        means.payee_institution.bic = account["swift"]
    settlement.payment_means.add(means)


def _category(doc: DocumentView) -> tuple[str, Decimal]:
    rate = Decimal(doc.tax_rate).normalize()
    return ("S", Decimal(doc.tax_rate).quantize(Decimal("0.01"))) if rate > 0 else ("O", Decimal(0))


def _line(line: LineView, doc: DocumentView, category: str, rate: Decimal, money: Any) -> LineItem:
    item = LineItem()
    item.document.line_id = str(line.position)
    item.product.name = line.description or line.charge
    amount = money(line.amount)
    quantity, price = _quantity_and_price(line, amount)
    item.agreement.net.amount = price
    item.delivery.billed_quantity = (quantity, _unit(line))
    item.settlement.trade_tax.type_code = "VAT"
    item.settlement.trade_tax.category_code = category
    if category != "O":
        item.settlement.trade_tax.rate_applicable_percent = rate
    item.settlement.monetary_summation.total_amount = amount
    return item


def _quantity_and_price(line: LineView, amount: Decimal) -> tuple[Decimal, Decimal]:
    """The line's own quantity and unit price when they give its amount exactly (to the
    minor unit), else one unit (minus one for a credit) at the amount."""
    if line.unit_price is not None and line.quantity > 0 and line.unit_price >= 0 and amount >= 0:
        quantity = line.quantity.quantize(QUANTITY)
        if quantity == line.quantity and (quantity * line.unit_price).quantize(amount) == amount:
            return quantity, line.unit_price
    sign = Decimal(-1) if amount < 0 else Decimal(1)
    return sign.quantize(QUANTITY), abs(amount)


def _unit(line: LineView) -> str:
    """UN/ECE Recommendation 20 unit codes: hours, minutes, or one (C62)."""
    if line.type == "hourly":
        return "HUR"
    if line.details.get("metric") == "handled_minutes":
        return "MIN"
    return "C62"


def _period_start(doc: DocumentView) -> Any:
    from billing.core.periods import Period

    return Period.parse(doc.period).first_day


def _period_end(doc: DocumentView) -> Any:
    from billing.core.periods import Period

    return Period.parse(doc.period).last_day
