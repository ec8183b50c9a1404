"""The issuers of a client's contracts as entity files (docs/entities.md), so an export loads
into a fresh database with the ordinary commands: ``billing entities load`` before
``billing contracts load``. An entity is stored as its fields, not its file, so the file is
written back from them; a logo goes beside it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from sqlmodel import Session, col, select

from billing.contracts.store import terms_from_source
from billing.storage.models import BillingEntity, ContractVersion

_LOGO_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "png": ".png", "jpeg": ".jpg", "jpg": ".jpg"}


def issuers_of(session: Session, versions: Iterable[ContractVersion]) -> list[BillingEntity]:
    """The entities the versions name as issuer; every entity when a version names none (then
    the only entity loaded issues it)."""
    codes = {terms_from_source(v.source_text, v.source_name).issuer for v in versions}
    query = select(BillingEntity).order_by(col(BillingEntity.code))
    if None not in codes:
        query = query.where(col(BillingEntity.code).in_(sorted(c for c in codes if c)))
    return list(session.exec(query).all())


def entity_file(entity: BillingEntity) -> tuple[str, bytes | None, str | None]:
    """The entity file's text, and the logo's bytes and file name (None when it has none)."""
    logo_name = None
    if entity.logo:
        logo_name = f"{entity.code}-logo{_LOGO_SUFFIX.get((entity.logo_type or '').lower(), '.png')}"
    data: dict[str, Any] = {
        "entity": entity.code,
        "legal_name": entity.legal_name,
        "trade_name": entity.trade_name,
        "tax_scheme": entity.tax_scheme,
        "tax_id": entity.tax_id,
        "address": entity.address or None,
        "email": entity.email,
        "phone": entity.phone,
        "bank_accounts": entity.bank_accounts or None,
        "logo": logo_name,
        "footer": entity.footer,
    }
    text = yaml.safe_dump({k: v for k, v in data.items() if v is not None}, allow_unicode=True, sort_keys=False)
    return text, entity.logo, logo_name
