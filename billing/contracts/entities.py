"""Billing entities (the issuers) and the parties a document names.

Reading validates entity files and their logos (``read_entity_files``); storing
(``store_entities``) runs in the caller's transaction, creates or updates each entity and
audits the change. An entity may change (a new address, a new bank account): documents keep a
snapshot of the parties as they were when they were issued (``issuer_snapshot``,
``buyer_snapshot``), so a legal document never changes with it.

The issuer of a contract is the entity its terms name (``issuer: CODE``), or the only entity
loaded when they name none (``resolve_issuer``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from billing.contracts.identifiers import SCHEMES, display_tax_id
from billing.contracts.language.entity import load_entity_text
from billing.contracts.terms import Address, BankAccount, ClientInfo, ContractTerms, Entity
from billing.core import limits
from billing.core.problems import Conflict, Problem, ProblemsError
from billing.storage.audit import record
from billing.storage.models import BillingEntity

#: The image types a logo may be, by their first bytes (what a PDF can embed as is).
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class EntityFile:
    source: str
    entity: Entity
    logo: bytes | None
    logo_type: str | None
    digest: str


@dataclass(frozen=True)
class EntityOutcome:
    source: str
    code: str
    action: str  # created | updated | unchanged


class IssuerUnknown(Conflict):
    """The issuer of a contract cannot be told: the entity it names is not loaded, or it names
    none and there is not exactly one entity."""


def read_entity_files(paths: list[Path]) -> list[EntityFile]:
    """Read and validate entity files (and their logos) without storing anything; raise
    ``ProblemsError`` with every problem of every file."""
    parsed: list[EntityFile] = []
    problems: list[Problem] = []
    for path in paths:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("file", f"cannot read the file: {exc}", source))
            continue
        entity, found = load_entity_text(text, source)
        problems.extend(found)
        if entity is None:
            continue
        logo, logo_type, problem = _read_logo(path, entity.logo)
        if problem:
            problems.append(Problem("logo", problem, source, None, "logo"))
            continue
        digest = hashlib.sha256(text.encode() + b"\x00" + (logo or b"")).hexdigest()
        parsed.append(EntityFile(source, entity, logo, logo_type, digest))
    codes = [f.entity.code for f in parsed]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        problems.append(Problem("duplicate_id", f"entity {code} is given by more than one file", "", None, "entity"))
    if problems:
        raise ProblemsError(problems)
    return parsed


def _read_logo(path: Path, name: str | None) -> tuple[bytes | None, str | None, str | None]:
    if name is None:
        return None, None, None
    logo = (path.parent / name).resolve()
    try:
        size = logo.stat().st_size
        if size > limits.MAX_LOGO_BYTES:
            return None, None, f"the logo {name} has {size:,} bytes; at most {limits.MAX_LOGO_BYTES:,}"
        data = logo.read_bytes()
    except OSError as exc:
        return None, None, f"cannot read the logo {name}: {exc.strerror or exc}"
    for magic, media_type in LOGO_TYPES.items():
        if data.startswith(magic):
            return data, media_type, None
    return None, None, f"the logo {name} is not a PNG or JPEG image"


def store_entities(session: Session, files: list[EntityFile], actor: str) -> list[EntityOutcome]:
    """Create or update entities (caller's transaction); the same file again is a no-op."""
    outcomes = []
    for f in files:
        row = session.get(BillingEntity, f.entity.code)
        if row is not None and row.digest == f.digest:
            outcomes.append(EntityOutcome(f.source, f.entity.code, "unchanged"))
            continue
        action = "created" if row is None else "updated"
        previous = None if row is None else row.digest
        row = row or BillingEntity(code=f.entity.code, legal_name="", tax_id="", source_name="", digest="")
        _fill(row, f)
        session.add(row)
        record(
            session,
            actor,
            f"entity.{action}",
            "entity",
            f.entity.code,
            {"source": f.source, "digest": f.digest, "previous_digest": previous},
        )
        outcomes.append(EntityOutcome(f.source, f.entity.code, action))
    session.flush()
    return outcomes


def _fill(row: BillingEntity, f: EntityFile) -> None:
    e = f.entity
    row.legal_name, row.trade_name = e.legal_name, e.trade_name
    row.tax_scheme, row.tax_id = e.tax_scheme, e.tax_id
    row.address = e.address.as_json()
    row.email, row.phone = e.email, e.phone
    row.bank_accounts = [account.as_json() for account in e.bank_accounts]
    row.logo, row.logo_type, row.footer = f.logo, f.logo_type, e.footer
    row.source_name, row.digest = Path(f.source).name, f.digest


def list_entities(session: Session) -> list[BillingEntity]:
    return list(session.exec(select(BillingEntity).order_by(col(BillingEntity.code))).all())


def get_entity(session: Session, code: str) -> BillingEntity:
    row = session.get(BillingEntity, code)
    if row is None:
        raise LookupError(f"no billing entity {code!r} (load it with: billing entities load FILE)")
    return row


def entity_of(row: BillingEntity) -> Entity:
    """The stored entity as a value (the logo stays on the row)."""
    address = Address(**{**row.address, "lines": tuple(row.address.get("lines") or ())})
    accounts = tuple(BankAccount(**account) for account in row.bank_accounts)
    return Entity(
        row.code,
        row.legal_name,
        row.tax_scheme or "",
        row.tax_id,
        address,
        row.trade_name,
        row.email,
        row.phone,
        accounts,
        None,
        row.footer,
    )


def resolve_issuer(session: Session, terms: ContractTerms) -> BillingEntity | None:
    """The entity that issues ``terms``' documents: the one it names, else the only one loaded.
    None when no entity is loaded at all (documents are then issued without an issuer block);
    ``IssuerUnknown`` when the named one is missing or several could be meant."""
    if terms.issuer is not None:
        row = session.get(BillingEntity, terms.issuer)
        if row is None:
            raise IssuerUnknown(f"contract {terms.code} names issuer {terms.issuer!r}, which is not loaded")
        return row
    rows = list_entities(session)
    if len(rows) > 1:
        codes = ", ".join(row.code for row in rows)
        raise IssuerUnknown(
            f"contract {terms.code} names no issuer and {len(rows)} entities are loaded ({codes}): "
            "add issuer: CODE to its terms"
        )
    return rows[0] if rows else None


def issuer_snapshot(row: BillingEntity, currency: str) -> dict[str, Any]:
    """The issuer as a document keeps it: identity, address, the bank accounts of the
    document's currency and the footer."""
    return {
        "code": row.code,
        "legal_name": row.legal_name,
        "trade_name": row.trade_name,
        "tax_scheme": row.tax_scheme,
        "tax_id": row.tax_id,
        "tax_id_shown": display_tax_id(row.tax_scheme, row.tax_id),
        "tax_label": _label(row.tax_scheme),
        "address": dict(row.address),
        "email": row.email,
        "phone": row.phone,
        "bank_accounts": [account for account in row.bank_accounts if account.get("currency") == currency],
        "footer": row.footer,
    }


def buyer_snapshot(client: ClientInfo) -> dict[str, Any]:
    """The client block of the terms in force, as a document keeps it."""
    return {
        "id": client.id,
        "name": client.name,
        "legal_name": client.legal_name or client.name,
        "tax_scheme": client.tax_scheme,
        "tax_id": client.tax_id,
        "tax_id_shown": display_tax_id(client.tax_scheme, client.tax_id) if client.tax_id else None,
        "tax_label": _label(client.tax_scheme),
        "address": client.address.as_json() if client.address else None,
        "email": client.email,
        "billing_email": client.billing_email or client.email,
        "purchase_order": client.purchase_order,
        "locale": client.locale,
    }


def _label(scheme: str | None) -> str | None:
    known = SCHEMES.get(scheme or "")
    return known.label if known else None


def parties_of(session: Session, terms: ContractTerms, currency: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """``(issuer, buyer)`` snapshots for a document of ``terms`` in ``currency``, as of now."""
    row = resolve_issuer(session, terms)
    return (issuer_snapshot(row, currency) if row is not None else None), buyer_snapshot(terms.client)


def load_entities(engine: Any, paths: list[Path], actor: str = "cli") -> list[EntityOutcome]:
    """The service behind ``billing entities load``: validate every file, then store them all
    in one transaction, or nothing (``ProblemsError`` with every problem)."""
    from billing.storage.db import transaction

    files = read_entity_files(paths)
    with transaction(engine) as session:
        return store_entities(session, files, actor)
