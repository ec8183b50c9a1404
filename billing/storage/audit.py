"""The audit trail: who did what to which entity, and when. Written in the caller's
transaction, so an audited change and its record commit together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from billing.storage.models import AuditEvent, utcnow


def record(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        AuditEvent(
            actor=actor, action=action, entity=entity, entity_id=str(entity_id), data=data or {}, at=at or utcnow()
        )
    )
