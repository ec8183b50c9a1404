"""A small, stateful, Stripe-compatible server for tests.

The tests drive the real ``stripe`` library over HTTP against this server, so what is
tested is the request the gateway really sends (form-encoded, with its Idempotency-Key),
not a mock of the library. The ``localstripe`` package covers customers, invoice items and
signed webhooks but has no invoice finalize (nor credit notes), which is why this server
exists. It implements only the endpoints ``billing.collection.gateway`` uses:

- ``POST/GET /v1/customers``, ``GET /v1/customers/{id}``
- ``POST/GET /v1/invoiceitems``, ``GET /v1/invoiceitems/{id}``
- ``POST/GET /v1/invoices``, ``GET/DELETE /v1/invoices/{id}`` (delete: drafts only),
  ``POST /v1/invoices/{id}/finalize``, ``POST /v1/invoices/{id}/void``
- ``POST/GET /v1/credit_notes``, ``GET /v1/credit_notes/{id}``, ``POST /v1/credit_notes/{id}/void``

Idempotency follows Stripe's documentation: a POST with an ``Idempotency-Key`` already seen
with the same endpoint and parameters replays the first response (header
``Idempotent-Replayed: true``); the same key with other parameters or another endpoint is
refused with 400 ``idempotency_error``. Only successful results are saved (Stripe saves no
result when validation fails before the endpoint starts executing).

Tests can make a request fail (``fail_next``): before the server does anything, or after
it did the work but before the answer reaches the client (a lost response, as when the
caller crashes). ``pay_invoice`` and ``signed_event`` produce webhook deliveries signed
with Stripe's scheme: ``Stripe-Signature: t=<unix time>,v1=<HMAC-SHA256(secret, "<t>.<body>")>``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Json = dict[str, Any]


class StripeError(Exception):
    def __init__(self, status: int, type_: str, message: str, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **({"param": param} if param else {})}}


def decode_form(body: str) -> Json:
    """Stripe's form encoding back to nested data: ``a[b][0][c]=1`` -> ``{"a": {"b": [{"c": "1"}]}}``."""
    root: Json = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+|(?<=\[)(?=\])", key)
        node: Any = root
        for part, following in itertools.pairwise([*parts, None]):
            if following is None:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    lose_response: bool
    after: int


@dataclass
class StripeState:
    """Everything the server holds; guarded by one lock (requests are serialized)."""

    api_key: str
    now: int
    objects: dict[str, dict[str, Json]] = field(default_factory=dict)
    saved: dict[str, tuple[str, Json, int, Json]] = field(default_factory=dict)
    failures: list[_Failure] = field(default_factory=list)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test{next(self.counter):06d}"

    def table(self, kind: str) -> dict[str, Json]:
        return self.objects.setdefault(kind, {})

    def get(self, kind: str, object_id: str) -> Json:
        found = self.table(kind).get(object_id)
        if found is None:
            raise StripeError(404, "invalid_request_error", f"No such {kind}: '{object_id}'", "id")
        return found


def _required(params: Json, name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.", name)
    return str(value)


def _integer(params: Json, name: str, default: int | None = None) -> int:
    value = params.get(name)
    if value is None:
        if default is None:
            raise StripeError(400, "invalid_request_error", f"Missing required param: {name}.", name)
        return default
    try:
        return int(value)
    except ValueError:
        raise StripeError(400, "invalid_request_error", f"Invalid integer: {value}", name) from None


class Api:
    """The endpoints, as plain functions of (state, params) -> object."""

    def __init__(self, state: StripeState):
        self.state = state

    def route(self, method: str, path: str, params: Json) -> Json:
        s = self.state
        routes: list[tuple[str, str, Any]] = [
            ("POST", r"/v1/customers", self.create_customer),
            ("POST", r"/v1/invoiceitems", self.create_invoice_item),
            ("POST", r"/v1/invoices", self.create_invoice),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/finalize", self.finalize_invoice),
            ("POST", r"/v1/invoices/(?P<id>[^/]+)/void", self.void_invoice),
            ("POST", r"/v1/credit_notes", self.create_credit_note),
            ("POST", r"/v1/credit_notes/(?P<id>[^/]+)/void", self.void_credit_note),
            ("DELETE", r"/v1/invoices/(?P<id>[^/]+)", self.delete_invoice),
        ]
        for kind, prefix in (
            ("customer", "customers"),
            ("invoiceitem", "invoiceitems"),
            ("invoice", "invoices"),
            ("credit_note", "credit_notes"),
        ):
            routes.append(("GET", rf"/v1/{prefix}/(?P<id>[^/]+)", lambda p, m, k=kind: s.get(k, m["id"])))
            routes.append(("GET", rf"/v1/{prefix}", lambda p, m, k=kind: self.list(k, p)))
        for verb, pattern, handler in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                result: Json = handler(params, match.groupdict())
                return result
        raise StripeError(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def list(self, kind: str, params: Json) -> Json:
        filters = {k: v for k, v in params.items() if k in ("customer", "invoice")}
        data = [o for o in self.state.table(kind).values() if all(o.get(k) == v for k, v in filters.items())]
        return {"object": "list", "data": data, "has_more": False, "url": f"/v1/{kind}s"}

    def create_customer(self, params: Json, _: Json) -> Json:
        customer = {
            "id": self.state.new_id("cus"),
            "object": "customer",
            "created": self.state.now,
            "name": params.get("name"),
            "email": params.get("email"),
            "description": params.get("description"),
            "preferred_locales": params.get("preferred_locales", []),
            "metadata": params.get("metadata", {}),
        }
        self.state.table("customer")[customer["id"]] = customer
        return customer

    def create_invoice(self, params: Json, _: Json) -> Json:
        customer = self.state.get("customer", _required(params, "customer"))
        method = params.get("collection_method", "charge_automatically")
        if method == "send_invoice" and "days_until_due" not in params and "due_date" not in params:
            raise StripeError(400, "invalid_request_error", "Missing days_until_due or due_date.", "days_until_due")
        invoice = {
            "id": self.state.new_id("in"),
            "object": "invoice",
            "created": self.state.now,
            "customer": customer["id"],
            "currency": params.get("currency", "usd").lower(),
            "collection_method": method,
            "days_until_due": _integer(params, "days_until_due", 0),
            "auto_advance": params.get("auto_advance", "true") == "true",
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
            "status": "draft",
            "number": None,
            "due_date": None,
            "lines": {"object": "list", "data": [], "has_more": False},
            "subtotal": 0,
            "total": 0,
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "status_transitions": {"finalized_at": None, "paid_at": None},
            "payment_intent": None,
        }
        self.state.table("invoice")[invoice["id"]] = invoice
        return invoice

    def create_invoice_item(self, params: Json, _: Json) -> Json:
        customer = self.state.get("customer", _required(params, "customer"))
        amount = _integer(params, "amount")
        currency = _required(params, "currency").lower()
        invoice = self.state.get("invoice", params["invoice"]) if params.get("invoice") else None
        if invoice is not None:
            if invoice["status"] != "draft":
                raise StripeError(400, "invalid_request_error", "Invoice items can only be added to draft invoices.")
            if invoice["currency"] != currency or invoice["customer"] != customer["id"]:
                raise StripeError(400, "invalid_request_error", "The invoice item must match the invoice's currency.")
        item = {
            "id": self.state.new_id("ii"),
            "object": "invoiceitem",
            "customer": customer["id"],
            "invoice": invoice["id"] if invoice else None,
            "amount": amount,
            "currency": currency,
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
        }
        self.state.table("invoiceitem")[item["id"]] = item
        if invoice is not None:
            line = {"id": f"il_{item['id']}", "object": "line_item", "amount": amount, "invoice_item": item["id"]}
            invoice["lines"]["data"].append({**line, "description": item["description"]})
            invoice["subtotal"] = invoice["total"] = sum(x["amount"] for x in invoice["lines"]["data"])
        return item

    def finalize_invoice(self, params: Json, match: Json) -> Json:
        invoice = self.state.get("invoice", match["id"])
        if invoice["status"] != "draft":
            raise StripeError(
                400, "invalid_request_error", "This invoice is already finalized, you can't re-finalize it."
            )
        number = sum(1 for i in self.state.table("invoice").values() if i["number"]) + 1
        invoice.update(
            status="open",
            number=f"TEST-{number:04d}",
            amount_due=max(invoice["total"], 0),
            amount_remaining=max(invoice["total"], 0),
            due_date=self.state.now + invoice["days_until_due"] * 86400,
            status_transitions={"finalized_at": self.state.now, "paid_at": None},
        )
        if "auto_advance" in params:
            invoice["auto_advance"] = params["auto_advance"] == "true"
        return invoice

    def void_invoice(self, params: Json, match: Json) -> Json:
        invoice = self.state.get("invoice", match["id"])
        if invoice["status"] not in ("open", "uncollectible"):
            raise StripeError(
                400, "invalid_request_error", f"You can only void an open invoice, not {invoice['status']}."
            )
        invoice.update(status="void", amount_remaining=0, amount_due=0)
        return invoice

    def delete_invoice(self, params: Json, match: Json) -> Json:
        invoice = self.state.get("invoice", match["id"])
        if invoice["status"] != "draft":
            raise StripeError(400, "invalid_request_error", "You can only delete draft invoices.")
        del self.state.table("invoice")[invoice["id"]]
        return {"id": invoice["id"], "object": "invoice", "deleted": True}

    def void_credit_note(self, params: Json, match: Json) -> Json:
        note = self.state.get("credit_note", match["id"])
        if note["status"] == "void":
            raise StripeError(400, "invalid_request_error", "The credit note is already void.")
        invoice = self.state.get("invoice", note["invoice"])
        if invoice["status"] == "open":
            invoice["amount_remaining"] += note["total"]
            invoice["amount_due"] += note["total"]
        note["status"] = "void"
        return note

    def create_credit_note(self, params: Json, _: Json) -> Json:
        invoice = self.state.get("invoice", _required(params, "invoice"))
        if invoice["status"] not in ("open", "paid"):
            raise StripeError(400, "invalid_request_error", "Credit notes need a finalized invoice.", "invoice")
        lines = params.get("lines", [])
        if lines:
            for line in lines:
                if line.get("type") != "custom_line_item" or _integer(line, "unit_amount") < 0:
                    raise StripeError(400, "invalid_request_error", "Invalid credit note line.", "lines")
            total = sum(_integer(line, "unit_amount") * _integer(line, "quantity", 1) for line in lines)
        else:
            total = _integer(params, "amount")
        credited = sum(
            c["total"]
            for c in self.state.table("credit_note").values()
            if c["invoice"] == invoice["id"] and c["status"] != "void"
        )
        if total <= 0 or credited + total > invoice["total"]:
            raise StripeError(400, "invalid_request_error", "The credit note exceeds the invoice's remaining amount.")
        settled = sum(_integer(params, name, 0) for name in ("credit_amount", "refund_amount", "out_of_band_amount"))
        if invoice["status"] == "paid" and settled != total:
            raise StripeError(
                400, "invalid_request_error", "For a paid invoice, say how the credit is settled (credit_amount)."
            )
        if invoice["status"] == "open":
            invoice["amount_remaining"] -= total
            invoice["amount_due"] -= total
            invoice["pre_payment_credit_notes_amount"] += total
        else:
            invoice["post_payment_credit_notes_amount"] += total
        note = {
            "id": self.state.new_id("cn"),
            "object": "credit_note",
            "invoice": invoice["id"],
            "customer": invoice["customer"],
            "currency": invoice["currency"],
            "total": total,
            "amount": total,
            "credit_amount": _integer(params, "credit_amount", 0),
            "memo": params.get("memo"),
            "metadata": params.get("metadata", {}),
            "lines": {"object": "list", "data": lines},
            "status": "issued",
        }
        self.state.table("credit_note")[note["id"]] = note
        return note


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        stripe = self.server.stripe
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = decode_form(body if method == "POST" else url.query)
        key = self.headers.get("Idempotency-Key")
        with stripe.lock:
            state = stripe.state
            state.requests.append((method, url.path, key))
            failure = stripe.take_failure(method, url.path)
            if failure is not None and not failure.lose_response:
                return self._send(500, {"error": {"type": "api_error", "message": "injected failure"}})
            presented = self.headers.get("Authorization") or ""
            if presented != f"Bearer {state.api_key}":
                # Stripe masks all but the last characters of a wrong key; this server repeats it
                # whole, so a test can check that our messages never pass it on.
                message = f"Invalid API Key provided: {presented.removeprefix('Bearer ')}"
                return self._send(401, {"error": {"type": "invalid_request_error", "message": message}})
            replayed = False
            try:
                if method == "POST" and key and key in state.saved:
                    endpoint, first_params, status, answer = state.saved[key]
                    if endpoint != url.path or first_params != params:
                        raise StripeError(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{key}' if you meant to execute a "
                            "different request.",
                        )
                    replayed = True
                else:
                    status, answer = 200, json.loads(json.dumps(Api(state).route(method, url.path, params)))
                    if method == "POST" and key:
                        state.saved[key] = (url.path, params, status, answer)
            except StripeError as exc:
                status, answer = exc.status, exc.body
            if failure is not None:  # the work is done, the answer is lost on the way back
                self.close_connection = True
                return self._send(500, {"error": {"type": "api_error", "message": "connection lost"}})
            self._send(status, answer, replayed)

    def _send(self, status: int, body: Json, replayed: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Stripe-Should-Retry", "false")
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    stripe: StripeServer


class StripeServer:
    """Runs on 127.0.0.1 with a free port in a background thread. ``url`` is the API base
    to hand to the gateway; the state can be inspected directly by tests."""

    def __init__(self, api_key: str = "sk_test_local", now: int = 1_790_000_000):
        self.state = StripeState(api_key=api_key, now=now)
        self.lock = threading.Lock()
        self._http = _HttpServer(("127.0.0.1", 0), _Handler)
        self._http.stripe = self
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> StripeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    # -- test controls -----------------------------------------------------------------

    def fail_next(self, method: str, path_pattern: str, lose_response: bool = False, after: int = 0) -> None:
        """The next matching request (after letting ``after`` of them pass) fails with 500:
        before anything happens, or, with ``lose_response``, after the server did the work
        (and saved its idempotent result), as when the caller crashes before reading it."""
        with self.lock:
            self.state.failures.append(_Failure(method, re.compile(path_pattern), lose_response, after))

    def take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self.state.failures:
            if failure.method == method and failure.path.fullmatch(path):
                if failure.after:
                    failure.after -= 1
                    return None
                self.state.failures.remove(failure)
                return failure
        return None

    def forget_idempotency_keys(self) -> None:
        """What Stripe does once a key is older than 24 hours."""
        with self.lock:
            self.state.saved.clear()

    def objects(self, kind: str) -> list[Json]:
        with self.lock:
            return [json.loads(json.dumps(o)) for o in self.state.table(kind).values()]

    def pay_invoice(self, invoice_id: str, paid_at: int) -> Json:
        """The client pays: the invoice becomes ``paid``; returns it as an event would carry it."""
        with self.lock:
            invoice = self.state.get("invoice", invoice_id)
            invoice.update(
                status="paid",
                amount_paid=invoice["amount_remaining"],
                amount_remaining=0,
                payment_intent=self.state.new_id("pi"),
                status_transitions={**invoice["status_transitions"], "paid_at": paid_at},
            )
            return json.loads(json.dumps(invoice))

    def event(self, type_: str, obj: Json, created: int) -> Json:
        with self.lock:
            event_id = self.state.new_id("evt")
        return {
            "id": event_id,
            "object": "event",
            "type": type_,
            "created": created,
            "livemode": False,
            "api_version": "2025-01-27.acacia",
            "data": {"object": obj},
        }


def signed_event(event: Json, secret: str, timestamp: int) -> tuple[bytes, str]:
    """The body and ``Stripe-Signature`` header Stripe would deliver for ``event``."""
    payload = json.dumps(event).encode()
    return payload, sign(payload, secret, timestamp)


def sign(payload: bytes, secret: str, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
