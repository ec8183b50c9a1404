"""``export_client``: one client's data into a folder (see ``billing.export``), read in one
snapshot, interactions streamed from the database a thousand rows at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlmodel import col

from billing.core.periods import Period, day_of_number
from billing.export.issuers import entity_file, issuers_of
from billing.export.writers import FORMATS, Written, write_bytes, write_table, write_text
from billing.measurement.ingest.interactions import COLUMNS as INTERACTION_COLUMNS
from billing.measurement.ingest.workforce import COLUMNS as WORKFORCE_COLUMNS
from billing.storage.db import reading
from billing.storage.models import (
    AuditEvent,
    Client,
    Contract,
    ContractVersion,
    Document,
    DocumentLine,
    ImportBatch,
    Interaction,
    Payment,
    WorkforceEntry,
)

DOCUMENT_COLUMNS = (
    "id", "kind", "status", "contract", "period", "series", "number", "currency", "subtotal", "tax", "total",
    "tax_name", "tax_rate", "corrects_id", "reason", "issue_date", "due_date", "issued_at", "voided_at", "data_as_of",
    "withholding_amount", "issuer", "buyer",
)  # fmt: skip
LINE_COLUMNS = (
    "document_id",
    "position",
    "charge",
    "type",
    "description",
    "quantity",
    "unit_price",
    "amount",
    "details",
)
PAYMENT_COLUMNS = ("document_id", "amount", "withheld", "currency", "received_at", "method", "reference")
KPI_COLUMNS = ("contract", "period", "document", "kpi", "value")
LEVEL_COLUMNS = ("contract", "period", "document", "level", "metric", "value", "target", "met", "sample", "credit")
AUDIT_COLUMNS = ("at", "actor", "action", "entity", "entity_id", "data")


@dataclass
class Manifest:
    client: str
    format: str
    first: str | None
    last: str | None
    files: list[Written] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "format": self.format,
            "from": self.first,
            "to": self.last,
            "generated_at": datetime.now(UTC).isoformat(),
            "files": [{"path": f.path, "rows": f.rows, "sha256": f.sha256} for f in self.files],
            "import_batches": self.batches,
        }


def export_client(
    engine: Engine, client_id: str, out: Path, fmt: str = "csv", first: Period | None = None, last: Period | None = None
) -> Manifest:
    """Write the client's data into ``out`` and return the manifest (also ``manifest.json``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: csv, jsonl or parquet")
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(client_id, fmt, None if first is None else str(first), None if last is None else str(last))
    with reading(engine, snapshot=True) as session:
        if session.get(Client, client_id) is None:
            raise LookupError(f"no client {client_id!r}")
        contracts = {
            c.id: c for c in session.execute(select(Contract).where(col(Contract.client_id) == client_id)).scalars()
        }
        codes = {cid: c.code for cid, c in contracts.items()}
        versions = list(
            session.execute(
                select(ContractVersion)
                .where(col(ContractVersion.contract_id).in_(list(codes)))
                .order_by(col(ContractVersion.id))
            ).scalars()
        )
        for version in versions:
            name = f"contracts/{codes[version.contract_id]}-{version.effective_from}.yaml"
            manifest.files.append(write_text(out, name, version.source_text))
        for entity in issuers_of(session, versions):  # type: ignore[arg-type]
            text, logo, logo_name = entity_file(entity)
            manifest.files.append(write_text(out, f"issuers/{entity.code}.yaml", text))
            if logo is not None and logo_name is not None:
                manifest.files.append(write_bytes(out, f"issuers/{logo_name}", logo))
        documents = [
            d
            for d in session.execute(
                select(Document).where(col(Document.client_id) == client_id).order_by(col(Document.id))
            ).scalars()
            if _within(d.period, first, last)
        ]
        ids = [d.id for d in documents]
        put = lambda name, columns, rows: manifest.files.append(write_table(out, name, columns, rows, fmt))  # noqa: E731
        put("documents", DOCUMENT_COLUMNS, (_document(d, codes) for d in documents))
        lines = session.execute(
            select(DocumentLine)
            .where(col(DocumentLine.document_id).in_(ids))
            .order_by(col(DocumentLine.document_id), col(DocumentLine.position))
        ).scalars()
        put("document_lines", LINE_COLUMNS, ([getattr(line, c) for c in LINE_COLUMNS] for line in lines))
        payments = session.execute(
            select(Payment).where(col(Payment.document_id).in_(ids)).order_by(col(Payment.id))
        ).scalars()
        put("payments", PAYMENT_COLUMNS, ([getattr(p, c) for c in PAYMENT_COLUMNS] for p in payments))
        invoices = [d for d in documents if d.kind == "invoice" and d.status in ("issued", "paid")]
        put("monthly_kpis", KPI_COLUMNS, _kpis(invoices, codes))
        put("service_levels", LEVEL_COLUMNS, _levels(invoices, codes))
        entities = {str(i) for i in ids} | {str(c) for c in codes.values()}
        audit = session.execute(select(AuditEvent).order_by(col(AuditEvent.id))).scalars()
        put(
            "audit_trail",
            AUDIT_COLUMNS,
            ([getattr(e, c) for c in AUDIT_COLUMNS] for e in audit if e.entity_id in entities),
        )
        for batch in session.execute(select(ImportBatch).order_by(col(ImportBatch.id))).scalars():
            columns: tuple[str, ...]
            if batch.kind == "interactions":
                rows = _interactions(session, batch.id, codes, first, last)
                columns = INTERACTION_COLUMNS
            elif batch.kind == "workforce":
                rows = _workforce(session, batch.id, codes, first, last)
                columns = WORKFORCE_COLUMNS
            else:
                continue
            written = write_table(out, f"{batch.kind}/batch-{batch.id:06d}", columns, rows, fmt)
            if written.rows == 0:
                (out / written.path).unlink()
                continue
            manifest.files.append(written)
            manifest.batches.append({"batch": batch.id, "kind": batch.kind, "file": written.path, "rows": written.rows})
    (out / "manifest.json").write_text(json.dumps(manifest.as_json(), indent=2) + "\n", encoding="utf-8")
    return manifest


def _within(period: str, first: Period | None, last: Period | None) -> bool:
    p = Period.parse(period)
    return (first is None or p >= first) and (last is None or p <= last)


def _document(d: Document, codes: dict[Any, str]) -> list[Any]:
    values = {c: getattr(d, c, None) for c in DOCUMENT_COLUMNS}
    values["contract"], values["number"] = codes[d.contract_id], d.number_text
    return [values[c] for c in DOCUMENT_COLUMNS]


def _kpis(invoices: list[Document], codes: dict[Any, str]) -> Iterator[list[Any]]:
    for d in invoices:
        for name, value in (d.kpis or {}).items():
            yield [codes[d.contract_id], d.period, d.number_text, name, value]


def _levels(invoices: list[Document], codes: dict[Any, str]) -> Iterator[list[Any]]:
    for d in invoices:
        for level in d.service_levels or []:
            yield [codes[d.contract_id], d.period, d.number_text, *(level.get(c) for c in LEVEL_COLUMNS[3:])]


def _interactions(
    session: Any, batch: int, codes: dict[Any, str], first: Period | None, last: Period | None
) -> Iterator[list[Any]]:
    i = Interaction.__table__.c  # type: ignore[attr-defined]
    query = select(Interaction).where(i.batch_id == batch, i.contract_id.in_(list(codes))).order_by(col(i.id))
    for row in session.execute(query.execution_options(yield_per=1000)).scalars():
        if first is not None or last is not None:
            local = day_of_number(row.local_day) if row.local_day is not None else row.started_at.date()
            if not _within(f"{local:%Y-%m}", first, last):  # the contract's own calendar month
                continue
        yield [
            row.interaction_id, codes[row.contract_id], row.channel, row.customer_id,
            row.started_at.isoformat().replace("+00:00", "Z"), row.wait_seconds, row.abandoned, row.handle_seconds,
            row.handled_by, row.resolved, row.escalated, row.csat, row.nps, row.qa_score,
        ]  # fmt: skip


def _workforce(
    session: Any, batch: int, codes: dict[Any, str], first: Period | None, last: Period | None
) -> Iterator[list[Any]]:
    w = WorkforceEntry.__table__.c  # type: ignore[attr-defined]
    query = select(WorkforceEntry).where(and_(w.batch_id == batch, w.contract_id.in_(list(codes)))).order_by(col(w.id))
    for row in session.execute(query.execution_options(yield_per=1000)).scalars():
        if _within(f"{row.work_date:%Y-%m}", first, last):
            yield [codes[row.contract_id], row.work_date.isoformat(), row.agent_id, row.productive_hours]
