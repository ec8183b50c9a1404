"""The client's own KPI figures (``contract, period, metric, value``), kept beside ours for
reconciliation. A figure sent again for the same (contract, period, metric) replaces the
earlier one: the client's latest report is the one that counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from billing.core.limits import CONTRACT_CODE, shown
from billing.core.periods import Period
from billing.core.problems import Problem
from billing.measurement.ingest.bulk import check_contract, contract_ids, exact_number, stored_keys, write_rows
from billing.measurement.ingest.files import RowSource
from billing.measurement.ingest.rejects import parsed_key
from billing.measurement.ingest.staging import RowStager, Stager
from billing.storage.db import is_sqlite
from billing.storage.models import ClientKpi

COLUMNS = ("contract", "period", "metric", "value")
STORED = ("contract_id", "period", "metric", "value", "batch_id")
METRICS = (
    "offered",
    "answered",
    "abandoned",
    "service_level",
    "asa_seconds",
    "aht_seconds",
    "abandonment_rate",
    "resolutions",
    "contacts",
    "handled_minutes",
    "fcr_rate",
    "csat",
    "nps",
    "qa_score",
    "productive_hours",
)
VALUE_SCALE = Decimal("0.0001")


class ClientKpiKind:
    name: str = "client_kpis"
    columns: tuple[str, ...] = COLUMNS
    required: tuple[str, ...] = COLUMNS

    def converter(self, session: Session, source: str, batch_id: int) -> Any:
        contracts = contract_ids(session)
        scaled = is_sqlite(session)

        def convert(values: tuple[str, ...], line: int) -> tuple[tuple[Any, ...] | None, list[Problem]]:
            code, period_text, metric, value_text = (v.strip() for v in values)
            problems: list[Problem] = []

            def bad(column: str, code_: str, message: str) -> None:
                problems.append(Problem(code_, message, source, line, column))

            check_contract(code, contracts, bad)
            try:
                period = str(Period.parse(period_text))
            except ValueError:
                bad("period", "bad_period", f"{shown(period_text)} is not a period (YYYY-MM)")
            if metric not in METRICS:
                bad("metric", "unknown_metric", f"{shown(metric)} is not a KPI ({', '.join(METRICS)})")
            value = exact_number(value_text, VALUE_SCALE)
            if value is not None and abs(value) >= 10**14:
                value = None
            if value is None:
                bad("value", "bad_number", f"{shown(value_text)} is not a number with at most 4 decimals")
            if problems or value is None:
                return None, problems
            stored = int(value / VALUE_SCALE) if scaled else value
            return (contracts[code], period, metric, stored, batch_id), []

        return convert

    def kept_raw(self, rows: RowSource, values: tuple[str, ...], raw: Any) -> tuple[str, str | None]:
        return rows.raw_text(raw)

    def key_of(self, values: tuple[str, ...]) -> str | None:
        if not values:
            return None
        code, period, metric = (v.strip() for v in values[:3])
        if not (CONTRACT_CODE.accepts(code) and metric in METRICS and _is_period(period)):
            return None
        return json.dumps([code, period, metric], ensure_ascii=False)

    def stager(self, session: Session, folder: Path) -> Stager:
        return RowStager()

    def write(self, session: Session, rows: list[tuple[Any, ...]]) -> int:
        latest = {row[:3]: row for row in rows}  # a key sent twice in one file: the last line wins
        return write_rows(
            session,
            "client_kpi",
            STORED,
            ("contract_id", "period", "metric"),
            list(latest.values()),
            ("value", "batch_id"),
        ) + (len(rows) - len(latest))

    def newest_id(self, session: Session) -> int:
        return int(session.execute(select(func.coalesce(func.max(ClientKpi.id), 0))).scalar_one())

    def after(self, session: Session, batch_id: int, first_new_id: int) -> None:
        return None

    def recover(self, session: Session, batch_id: int) -> None:
        return None

    def existing_keys(self, session: Session, keys: Sequence[str]) -> set[str]:
        contracts = contract_ids(session)
        wanted = []
        for key in keys:
            parts = parsed_key(key)
            if parts is not None and len(parts) == 3 and parts[0] in contracts:
                code, period, metric = parts
                wanted.append((contracts[code], period, metric, key))
        return stored_keys(session, ClientKpi.__table__, ("contract_id", "period", "metric"), wanted)  # type: ignore[attr-defined]


def _is_period(text: str) -> bool:
    try:
        Period.parse(text)
    except ValueError:
        return False
    return True
