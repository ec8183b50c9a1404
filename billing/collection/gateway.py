"""The only module that talks to Stripe (and the only one that imports ``stripe``).

It knows nothing of the database: it receives frozen requests built by
``billing.collection.outbox`` and returns what Stripe answered. Every call that creates something
carries an idempotency key derived from the document number and the step
(``F001-00000001:invoice-item:3``), and the parameters of each call depend only on the
frozen document, so a retry after a crash at any step replays Stripe's first answers and
never creates twice. Stripe keeps idempotency keys for at least 24 hours; the outbox
retries well within that.

An invoice is pushed as: the client's customer (once per client), a draft invoice
(``send_invoice``, ``auto_advance`` off, metadata naming our document), one invoice item
per document line attached to that draft (negative lines such as service credits are
negative items), one item for the tax, so Stripe's total is exactly ours, then finalize.
Amounts are integers in the currency's minor units (PEN cents, JPY and CLP whole units).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from billing.core.redaction import redact

if TYPE_CHECKING:
    import stripe

# ``stripe`` is imported where it is used, not above: it is large, and every other command
# (which imports this module through billing.collection.outbox) should start without it.

DEFAULT_API_BASE = "https://api.stripe.com"


class GatewayError(Exception):
    """Stripe refused or could not be reached; the message says why (with any key or secret
    in Stripe's answer masked: it is stored in the outbox and printed). Safe to retry.
    ``customer_id`` is the client's Stripe customer when it was created before the failure."""

    customer_id: str | None = None


@dataclass(frozen=True)
class StripeSettings:
    """Where and how to reach Stripe. The secrets stay out of ``repr`` (and so out of any
    traceback or log line that shows the settings)."""

    api_key: str = field(repr=False)
    api_base: str = DEFAULT_API_BASE
    webhook_secret: str | None = field(default=None, repr=False)
    max_network_retries: int = 2

    @classmethod
    def from_env(cls) -> StripeSettings:
        """``BILLING_STRIPE_API_KEY``, ``BILLING_STRIPE_API_BASE``, ``BILLING_STRIPE_WEBHOOK_SECRET``."""
        key = os.environ.get("BILLING_STRIPE_API_KEY")
        if not key:
            raise GatewayError("BILLING_STRIPE_API_KEY is not set")
        return cls(
            api_key=key,
            api_base=os.environ.get("BILLING_STRIPE_API_BASE") or DEFAULT_API_BASE,
            webhook_secret=os.environ.get("BILLING_STRIPE_WEBHOOK_SECRET") or None,
        )


@dataclass(frozen=True)
class Customer:
    client_id: str
    name: str
    email: str | None
    stripe_id: str | None


@dataclass(frozen=True)
class Item:
    """One invoice item or credit-note line: ``key`` makes its idempotency key unique."""

    key: str
    description: str
    amount: int


@dataclass(frozen=True)
class InvoicePush:
    document_id: int
    number: str
    currency: str
    customer: Customer
    days_until_due: int
    description: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class PaidInvoice:
    """What Stripe says was paid on one of its invoices (amount in minor units, time in
    unix seconds), read from an event's invoice or from the invoice the push found."""

    stripe_invoice_id: str
    amount_paid: int
    paid_at: int | None
    payment_intent: str | None

    @classmethod
    def from_stripe(cls, invoice: Any) -> PaidInvoice | None:
        """From a Stripe invoice as a dict; None when it names no invoice or is malformed."""
        if not isinstance(invoice, dict) or not isinstance(invoice.get("id"), str) or not invoice["id"]:
            return None
        transitions = invoice.get("status_transitions")
        paid_at = transitions.get("paid_at") if isinstance(transitions, dict) else None
        intent = invoice.get("payment_intent")
        try:
            amount = int(invoice.get("amount_paid") or 0)
            stamp = int(paid_at) if paid_at is not None else None
        except (TypeError, ValueError):
            return None
        return cls(invoice["id"][:100], amount, stamp, intent if isinstance(intent, str) else None)

    def as_data(self) -> dict[str, Any]:
        return {
            "invoice": self.stripe_invoice_id,
            "amount_paid": self.amount_paid,
            "paid_at": self.paid_at,
            "payment_intent": self.payment_intent,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PaidInvoice:
        return cls(data["invoice"], int(data["amount_paid"]), data.get("paid_at"), data.get("payment_intent"))


@dataclass(frozen=True)
class InvoicePushed:
    """The Stripe invoice the push left (or found): ``paid`` when Stripe already says paid
    (paid before the push learned its id, or a zero total that Stripe settles at once)."""

    customer_id: str
    invoice_id: str
    status: str
    total: int
    paid: PaidInvoice | None = None


@dataclass(frozen=True)
class CreditNotePush:
    document_id: int
    number: str
    invoice_number: str
    stripe_invoice_id: str
    memo: str | None
    lines: tuple[Item, ...]


class Gateway:
    def __init__(self, settings: StripeSettings):
        import stripe

        self.client: stripe.StripeClient = stripe.StripeClient(
            settings.api_key,
            base_addresses={"api": settings.api_base},
            max_network_retries=settings.max_network_retries,
        )

    def push_invoice(self, push: InvoicePush) -> InvoicePushed:
        """Create the customer, invoice and items, then finalize. A retry repeats the same
        keyed calls (Stripe replays them); past the key's lifetime it still finds the
        invoice by its number among the customer's and adds only the missing items."""
        customer_id = push.customer.stripe_id or self._create_customer(push.customer)
        try:
            invoice = self._find_invoice(customer_id, push.number)
            if invoice is None:
                invoice, present = self._create_invoice(customer_id, push), set()
            elif invoice.status == "draft":
                present = self._item_keys(invoice.id)
            else:
                return _pushed(customer_id, invoice)
            metadata = {"document_id": str(push.document_id), "number": push.number}
            for item in push.items:
                if item.key in present:
                    continue
                _call(
                    self.client.v1.invoice_items.create,
                    {
                        "customer": customer_id,
                        "invoice": invoice.id,
                        "currency": push.currency.lower(),
                        "amount": item.amount,
                        "description": item.description,
                        "metadata": {**metadata, "line": item.key},
                    },
                    f"{push.number}:invoice-item:{item.key}",
                )
            finalized = _call(
                self.client.v1.invoices.finalize_invoice,
                {"auto_advance": False},
                f"{push.number}:finalize",
                invoice.id,
            )
        except GatewayError as exc:
            exc.customer_id = customer_id  # worth keeping even though the push failed
            raise
        return _pushed(customer_id, finalized)

    def find_invoice(self, customer_id: str, number: str) -> InvoicePushed | None:
        """The invoice an earlier push left in Stripe for document ``number`` (not void), if
        any: a push whose answer was lost may have created, even finalized, it."""
        invoice = self._find_invoice(customer_id, number)
        return None if invoice is None else _pushed(customer_id, invoice)

    def _create_customer(self, customer: Customer) -> str:
        params: dict[str, Any] = {"name": customer.name, "metadata": {"client_id": customer.client_id}}
        if customer.email:
            params["email"] = customer.email
        return str(_call(self.client.v1.customers.create, params, f"client:{customer.client_id}:customer").id)

    def _find_invoice(self, customer_id: str, number: str) -> Any:
        for invoice in _all(self.client.v1.invoices.list, {"customer": customer_id}):
            if invoice.status != "void" and _metadata(invoice).get("number") == number:
                return invoice
        return None

    def _create_invoice(self, customer_id: str, push: InvoicePush) -> Any:
        params = {
            "customer": customer_id,
            "currency": push.currency.lower(),
            "collection_method": "send_invoice",
            "days_until_due": push.days_until_due,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": push.description,
            "metadata": {"document_id": str(push.document_id), "number": push.number},
        }
        return _call(self.client.v1.invoices.create, params, f"{push.number}:invoice")

    def _item_keys(self, invoice_id: str) -> set[str]:
        items = _all(self.client.v1.invoice_items.list, {"invoice": invoice_id})
        return {str(_metadata(item).get("line")) for item in items}

    def push_credit_note(self, push: CreditNotePush) -> str:
        """Issue a Stripe credit note against the credited invoice (or find the one a lost
        attempt issued); returns its id. On a paid invoice the credit goes to the customer's
        balance, applied to their next invoice."""
        v1 = self.client.v1
        for existing in _all(v1.credit_notes.list, {"invoice": push.stripe_invoice_id}):
            if _metadata(existing).get("number") == push.number:
                return str(existing.id)
        invoice = _call(v1.invoices.retrieve, None, None, push.stripe_invoice_id)
        total = sum(line.amount for line in push.lines)
        params: dict[str, Any] = {
            "invoice": push.stripe_invoice_id,
            "lines": [
                {"type": "custom_line_item", "description": line.description, "quantity": 1, "unit_amount": line.amount}
                for line in push.lines
            ],
            "metadata": {"document_id": str(push.document_id), "number": push.number, "credits": push.invoice_number},
        }
        if push.memo:
            params["memo"] = push.memo
        if invoice.status == "paid":
            params["credit_amount"] = total
        note = _call(v1.credit_notes.create, params, f"{push.number}:credit-note")
        return str(note.id)

    def void(self, kind: str, stripe_id: str, number: str) -> str:
        """Void a sent invoice (or credit note) whose document we voided; already void is fine.
        A draft invoice (a push that never finalized) is deleted, as Stripe only voids finalized
        ones. A paid invoice cannot be voided: its money was flagged for a person when the push
        recorded it (``payment.unapplied``), and it is left as it is."""
        if kind == "credit_note":
            notes = self.client.v1.credit_notes
            found = _call(notes.retrieve, None, None, stripe_id)
            if found.status != "void":
                _call(notes.void_credit_note, None, f"{number}:void", stripe_id)
            return stripe_id
        invoices = self.client.v1.invoices
        found = _call(invoices.retrieve, None, None, stripe_id)
        if found.status == "draft":
            _call(invoices.delete, None, None, stripe_id)
        elif found.status in ("open", "uncollectible"):
            _call(invoices.void_invoice, None, f"{number}:void", stripe_id)
        return stripe_id


def _pushed(customer_id: str, invoice: Any) -> InvoicePushed:
    """What the push learned of ``invoice``, its payment included when Stripe says paid."""
    paid = PaidInvoice.from_stripe(invoice.to_dict()) if invoice.status == "paid" else None
    return InvoicePushed(customer_id, invoice.id, invoice.status, invoice.total, paid)


def _call(method: Any, params: dict[str, Any] | None, key: str | None, *args: Any) -> Any:
    import stripe

    options: dict[str, Any] = {"idempotency_key": key} if key else {}
    try:
        return method(*args, params=params, options=options)
    except stripe.StripeError as exc:
        detail = exc.user_message or str(exc) or type(exc).__name__
        raise GatewayError(redact(f"{type(exc).__name__}: {detail}")) from exc


def _all(method: Any, params: dict[str, Any]) -> list[Any]:
    """Every object of a list endpoint, page after page."""
    import stripe

    try:
        return list(_call(method, {**params, "limit": 100}, None).auto_paging_iter())
    except stripe.StripeError as exc:
        raise GatewayError(redact(f"{type(exc).__name__}: {exc.user_message or exc}")) from exc


def _metadata(obj: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = obj.to_dict().get("metadata") or {}
    return metadata
