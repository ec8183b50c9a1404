"""Workforce hours (docs/architecture.md): ``contract, date, agent_id, productive_hours``, one row
per agent and day, idempotent by (contract, date, agent_id). They feed ``hourly`` charges
and the FTE reconciliation; a day belongs to the period of its calendar month."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from billing.core.limits import AGENT_ID, CONTRACT_CODE, shown
from billing.core.problems import Problem
from billing.measurement.ingest.bulk import check_contract, contract_ids, exact_number, stored_keys, write_rows
from billing.measurement.ingest.files import RowSource
from billing.measurement.ingest.rejects import parsed_key
from billing.measurement.ingest.staging import RowStager, Stager
from billing.storage.db import is_sqlite
from billing.storage.models import WorkforceEntry

COLUMNS = ("contract", "date", "agent_id", "productive_hours")
STORED = ("contract_id", "work_date", "agent_id", "productive_hours", "batch_id")
HOURS_SCALE = Decimal("0.0001")
DAY_HOURS = Decimal(24)


class WorkforceKind:
    name: str = "workforce"
    columns: tuple[str, ...] = COLUMNS
    required: tuple[str, ...] = COLUMNS

    def converter(self, session: Session, source: str, batch_id: int) -> Any:
        contracts = contract_ids(session)
        scaled = is_sqlite(session)

        def convert(values: tuple[str, ...], line: int) -> tuple[tuple[Any, ...] | None, list[Problem]]:
            code, day_text, agent, hours_text = (v.strip() for v in values)
            problems: list[Problem] = []

            def bad(column: str, code_: str, message: str) -> None:
                problems.append(Problem(code_, message, source, line, column))

            check_contract(code, contracts, bad)
            day = None
            try:
                day = date.fromisoformat(day_text)
            except ValueError:
                bad("date", "bad_date", f"{shown(day_text)} is not a date (YYYY-MM-DD)")
            if not agent:
                bad("agent_id", "missing_value", "is required")
            elif (reason := AGENT_ID.problem(agent)) is not None:
                bad("agent_id", "too_long" if len(agent) > AGENT_ID.max_length else "bad_characters", reason)
            hours = exact_number(hours_text, HOURS_SCALE)
            if hours is None:
                bad("productive_hours", "bad_number", f"{shown(hours_text)} is not a number with at most 4 decimals")
            if hours is not None and not Decimal(0) <= hours <= DAY_HOURS:
                bad("productive_hours", "out_of_range", f"{hours} is outside 0-24 hours for one agent and day")
            if problems or day is None or hours is None:
                return None, problems
            stored = int(hours / HOURS_SCALE) if scaled else hours
            return (contracts[code], day, agent, stored, batch_id), []

        return convert

    def kept_raw(self, rows: RowSource, values: tuple[str, ...], raw: Any) -> tuple[str, str | None]:
        return rows.raw_text(raw)

    def key_of(self, values: tuple[str, ...]) -> str | None:
        if not values:
            return None
        code, day, agent = (v.strip() for v in values[:3])
        if not (CONTRACT_CODE.accepts(code) and AGENT_ID.accepts(agent) and _is_date(day)):
            return None
        return json.dumps([code, day, agent], ensure_ascii=False)

    def stager(self, session: Session, folder: Path) -> Stager:
        return RowStager()

    def write(self, session: Session, rows: list[tuple[Any, ...]]) -> int:
        if is_sqlite(session):
            rows = [(c, d.isoformat(), a, h, b) for c, d, a, h, b in rows]
        return write_rows(session, "workforce_entry", STORED, ("contract_id", "work_date", "agent_id"), rows)

    def newest_id(self, session: Session) -> int:
        return int(session.execute(select(func.coalesce(func.max(WorkforceEntry.id), 0))).scalar_one())

    def after(self, session: Session, batch_id: int, first_new_id: int) -> None:
        return None

    def recover(self, session: Session, batch_id: int) -> None:
        return None

    def existing_keys(self, session: Session, keys: Sequence[str]) -> set[str]:
        contracts = contract_ids(session)
        wanted = []
        for key in keys:
            parts = parsed_key(key)
            if parts is None or len(parts) != 3 or parts[0] not in contracts or not _is_date(parts[1]):
                continue
            code, day, agent = parts
            wanted.append((contracts[code], date.fromisoformat(day), agent, key))
        return stored_keys(session, WorkforceEntry.__table__, ("contract_id", "work_date", "agent_id"), wanted)  # type: ignore[attr-defined]


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
