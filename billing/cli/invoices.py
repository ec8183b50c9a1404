"""``billing invoices list|show|issue|void``, ``billing credit-notes create|issue`` and
``billing debit-notes create|issue``."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

import typer

from billing.cli.common import (
    command_group,
    console,
    err_console,
    fail,
    parse_period,
    print_json,
    state,
)
from billing.core.limits import MAX_ROW_ID
from billing.core.money import to_decimal
from billing.core.problems import Conflict

if TYPE_CHECKING:
    from billing.invoicing.notes import NoteLine
    from billing.storage.models import Document


#: Refusals a user can cause (a document not found is a LookupError): one line, exit code 1.
EXPECTED = (Conflict, LookupError, ValueError)


def register(app: typer.Typer) -> None:
    invoices = command_group(help="Invoices and notes: list, show, issue, void.")
    app.add_typer(invoices, name="invoices")

    @invoices.command("list")
    def list_(
        period: str = typer.Option(None, "--period", help="YYYY-MM"),
        contract: str = typer.Option(None, "--contract", help="Contract code"),
        status: str = typer.Option(None, "--status", help="draft | issued | paid | void"),
        kind: str = typer.Option(None, "--kind", help="invoice | credit_note | debit_note (default: all)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Documents, newest period first."""
        from rich.table import Table

        from billing.invoicing.documents import DocumentFilter, document_json, list_documents
        from billing.storage.db import reading

        if period:
            parse_period(period)
        if status and status not in ("draft", "issued", "paid", "void"):
            fail(f"unknown status {status!r}: draft, issued, paid or void", 2)
        if kind and kind not in ("invoice", "credit_note", "debit_note"):
            fail(f"unknown kind {kind!r}: invoice, credit_note or debit_note", 2)
        with reading(state.engine()) as session:
            rows = list_documents(session, DocumentFilter(period, contract, status, kind))
        data = [document_json(document, code) for document, code in rows]
        if as_json:
            print_json({"data": data, "count": len(data)})
            return
        table = Table("id", "number", "kind", "status", "contract", "period", "total", "issued", "due")
        for item in data:
            table.add_row(
                str(item["id"]),
                item["number"] or "-",
                item["kind"],
                item["status"],
                item["contract"],
                item["period"],
                f"{item['total']} {item['currency']}",
                item["issue_date"] or "",
                item["due_date"] or "",
            )
        console.print(table)
        console.print(f"{len(data)} document(s)", highlight=False)

    @invoices.command("show")
    def show(
        reference: str = typer.Argument(..., metavar="ID_OR_NUMBER"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """One document with its lines (and what explains them), service levels and notes."""
        from billing.invoicing.documents import DocumentFilter, document_json, find_document, lines_of, list_documents
        from billing.storage.db import reading
        from billing.storage.models import Client, Contract

        with reading(state.engine()) as session:
            try:
                document = find_document(session, reference)
            except LookupError as exc:
                fail(str(exc))
            contract = session.get(Contract, document.contract_id)
            client = session.get(Client, document.client_id)
            code = contract.code if contract else str(document.contract_id)
            locale = client.locale if client else None
            data = document_json(document, code, lines_of(session, document.id), locale)  # type: ignore[arg-type]
            data["notes"] = [
                document_json(note, code)
                for note, _ in list_documents(session, DocumentFilter(period=document.period, contract=code))
                if note.corrects_id == document.id
            ]
        if as_json:
            print_json(data)
        else:
            _print_document(data)

    @invoices.command("issue")
    def issue_(
        references: list[str] = typer.Argument(None, metavar="ID_OR_NUMBER...", help="Drafts to issue"),
        period: str = typer.Option(None, "--period", help="With --all: every draft invoice of YYYY-MM"),
        all_drafts: bool = typer.Option(False, "--all"),
        on: str = typer.Option(None, "--date", help="Issue date YYYY-MM-DD (default: today in each contract's zone)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Number drafts in their series and freeze them. A refusal (not a draft, too much
        credit) does not stop the others, but makes the exit status non-zero."""
        from billing.invoicing.invoices import drafts_of_period

        if all_drafts != bool(period) or (all_drafts and references):
            fail("give draft ids, or --period YYYY-MM --all", 2)
        if not all_drafts and not references:
            fail("give draft ids, or --period YYYY-MM --all", 2)
        ids = drafts_of_period(state.engine(), parse_period(period)) if all_drafts else _ids(references)
        _issue_many(ids, _issue_day(on), as_json)

    @invoices.command("void")
    def void_(
        reference: str = typer.Argument(..., metavar="ID_OR_NUMBER"),
        reason: str = typer.Option(..., "--reason", help="Why (kept with the document)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Void an issued document (it keeps its number) or discard a draft."""
        from billing.invoicing.invoices import void

        try:
            document = void(state.engine(), _id(reference), reason, state.actor)
        except EXPECTED as exc:
            fail(str(exc))
        _print_result(document, as_json, f"{_name(document)} voided; it keeps its number")

    for kind, name in (("credit_note", "credit-notes"), ("debit_note", "debit-notes")):
        app.add_typer(_notes_app(kind, name), name=name)


def _notes_app(kind: str, name: str) -> typer.Typer:
    label = kind.replace("_", " ")
    notes = command_group(help=f"{label.capitalize()}s correcting an issued invoice.")

    @notes.command("create")
    def create(
        invoice: str = typer.Argument(..., metavar="INVOICE", help="Invoice id or number"),
        reason: str = typer.Option(..., "--reason"),
        amount: str = typer.Option(None, "--amount", help="One amount before tax, against the whole invoice"),
        lines: list[str] = typer.Option(None, "--line", help="charge:amount before tax (repeatable)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Write a draft note (numbered only when issued). Tax follows at the invoice's rate."""
        from billing.invoicing.notes import ADJUSTMENT, NoteLine, create_note

        if bool(amount) == bool(lines):
            fail("give --amount X or one or more --line charge:amount", 2)
        try:
            note_lines = (
                [NoteLine(ADJUSTMENT, to_decimal(amount), f"{label.capitalize()}: {reason}")]
                if amount
                else [_note_line(text) for text in lines]
            )
            note = create_note(state.engine(), _id(invoice), kind, note_lines, reason, state.actor)
        except EXPECTED as exc:
            fail(str(exc))
        _print_result(note, as_json, f"{label} draft {note.id} written; issue it with: billing {name} issue {note.id}")

    @notes.command("issue")
    def issue_(
        references: list[str] = typer.Argument(..., metavar="ID_OR_NUMBER..."),
        on: str = typer.Option(None, "--date", help="Issue date YYYY-MM-DD (default: today in the contract's zone)"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Number draft notes in their series and freeze them."""
        _issue_many(_ids(references), _issue_day(on), as_json)

    return notes


# -- helpers -----------------------------------------------------------------------------


def _issue_day(on: str | None) -> date:
    from billing.storage.models import utcnow

    if not on:
        return utcnow()  # an instant: each contract turns it into its own local date
    try:
        return date.fromisoformat(on)
    except ValueError:
        fail(f"--date is written YYYY-MM-DD, got {on!r}", 2)


def _issue_many(ids: list[int], day: date, as_json: bool) -> None:
    from billing.invoicing.documents import money_text
    from billing.invoicing.invoices import issue_many

    batch = issue_many(state.engine(), ids, state.actor, day)
    issued = batch.issued
    refused = [{"id": document_id, "error": error} for document_id, error in batch.refused]
    if as_json:
        print_json(
            {"issued": [_brief(d) for d in issued], "refused": refused, "count": len(issued)},
        )
    else:
        for document in issued:
            console.print(
                f"{document.kind.replace('_', ' ')} {document.id} issued as {document.number_text}: "
                f"{money_text(document.total, document.currency)} {document.currency}, due {document.due_date}",
                highlight=False,
            )
        for item in refused:
            err_console.print(f"[red]error:[/red] {item['error']}", highlight=False)
        if not ids:
            console.print("nothing to issue: no drafts", highlight=False)
    if refused:
        raise typer.Exit(1)


def _brief(document: Document) -> dict[str, Any]:
    from billing.invoicing.documents import money_text

    return {
        "id": document.id,
        "kind": document.kind,
        "status": document.status,
        "number": document.number_text,
        "total": money_text(document.total, document.currency),
        "currency": document.currency,
        "issue_date": document.issue_date.isoformat() if document.issue_date else None,
        "due_date": document.due_date.isoformat() if document.due_date else None,
    }


def _print_result(document: Document, as_json: bool, message: str) -> None:
    from billing.invoicing.documents import money_text

    if as_json:
        print_json(_brief(document))
        return
    console.print(f"{message} ({money_text(document.total, document.currency)} {document.currency})", highlight=False)


def _name(document: Document) -> str:
    return f"{document.kind.replace('_', ' ')} {document.number_text or f'draft {document.id}'}"


def _print_document(data: dict[str, Any]) -> None:
    from rich.table import Table

    title = data["number"] or f"draft {data['id']}"
    console.print(
        f"[bold]{data['kind'].replace('_', ' ')} {title}[/bold] ({data['status']}) "
        f"{data['contract']} {data['period']} {data['currency']}",
        highlight=False,
    )
    if data["provisional"]:
        console.print("provisional: a preview of a period not closable yet; it cannot be issued", highlight=False)
    if data["issue_date"]:
        console.print(f"issued {data['issue_date']}, due {data['due_date']}", highlight=False)
    for role, party in (("issuer", data["issuer"]), ("buyer", data["buyer"])):
        if party:
            tax = f" {party.get('tax_label') or 'tax id'} {party['tax_id']}" if party.get("tax_id") else ""
            order = f", purchase order {party['purchase_order']}" if party.get("purchase_order") else ""
            console.print(f"{role}: {party.get('legal_name') or party.get('name')}{tax}{order}", highlight=False)
    if data["reason"]:
        console.print(f"reason: {data['reason']}", highlight=False)
    if data["status"] == "void":
        console.print(f"void since {data['voided_at']}: {data['void_reason']}", highlight=False)
    table = Table("#", "charge", "type", "description", "quantity", "unit price", "amount")
    for line in data["lines"]:
        table.add_row(
            str(line["position"]),
            line["charge"],
            line["type"],
            line["description"],
            line["quantity"],
            line["unit_price"] or "",
            line["amount"],
        )
    console.print(table)
    for line in data["lines"]:
        if line["details"]:
            explained = json.dumps(line["details"], ensure_ascii=False, separators=(", ", ": "))
            console.print(f"  #{line['position']} {line['charge']}: {explained}", highlight=False, soft_wrap=True)
    tax = f"{data['tax_name']} {data['tax_rate']}%" if data["tax_name"] else "tax"
    console.print(
        f"subtotal {data['subtotal']}   {tax} {data['tax']}   [bold]total {data['total']}[/bold]",
        highlight=False,
    )
    console.print(f"in words: {data['amount_in_words']}", highlight=False)
    if data["withholding"]:
        w = data["withholding"]
        console.print(
            f"{w['name']} {w['percent']}%: {w['amount']} withheld (account {w['account']}); payable {data['payable']}",
            highlight=False,
        )
    if data["service_levels"]:
        levels = Table("service level", "metric", "value", "target", "met", "sample", "credit")
        for level in data["service_levels"]:
            met = {True: "met", False: "missed", None: "not assessed"}[level.get("met")]
            if level.get("excused"):
                met += " (excused)"
            levels.add_row(
                level["id"],
                level["metric"],
                "-" if level["value"] is None else str(level["value"]),
                level["target"],
                met,
                str(level["sample"]),
                level["credit"],
            )
        console.print(levels)
    for note in data["notes"]:
        console.print(
            f"{note['kind'].replace('_', ' ')} {note['number'] or 'draft ' + str(note['id'])} "
            f"({note['status']}): {note['total']} - {note['reason']}",
            highlight=False,
        )


def _note_line(text: str) -> NoteLine:
    from billing.invoicing.notes import NoteLine

    charge, sep, amount = text.rpartition(":")
    if not sep or not charge:
        raise ValueError(f"--line is written charge:amount, got {text!r}")
    return NoteLine(charge.strip(), to_decimal(amount))


def _ids(references: list[str]) -> list[int]:
    return [_id(reference) for reference in references]


def _id(reference: str) -> int:
    """A document id, from an id or a number such as ``F001-00000001``."""
    from billing.invoicing.documents import find_document
    from billing.storage.db import reading

    if reference.strip().isdigit():
        if int(reference) > MAX_ROW_ID:
            fail(f"no document {reference.strip()} (ids go up to {MAX_ROW_ID})")
        return int(reference)
    with reading(state.engine()) as session:
        try:
            document = find_document(session, reference)
        except LookupError as exc:
            fail(str(exc))
    assert document.id is not None
    return document.id
