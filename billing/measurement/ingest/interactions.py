"""Interactions (docs/architecture.md): validation of each row and the bulk write.

Per row the work is a handful of dictionary lookups, ``int()`` and one
``datetime.fromisoformat``: a row that passes the fast path costs a few microseconds. A row
that fails it goes through ``_problems``, which checks every column and names each one wrong.

Booleans accept ``true``/``false``, ``1``/``0`` and ``yes``/``no`` in any case (what
spreadsheets and exports produce); anything else is a bad boolean. Timestamps need an
offset (``Z`` or ``+hh:mm``): an instant without one is ambiguous and refused. Seconds and
scores are whole numbers; ``qa_score`` may have up to two decimals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session

from billing.core.limits import CHANNEL, CONTRACT_CODE, CUSTOMER_ID, INTERACTION_ID, TextDomain, shown
from billing.core.periods import LocalCalendar
from billing.core.problems import Problem
from billing.measurement.ingest.bulk import check_contract, contract_ids
from billing.measurement.ingest.files import RowSource
from billing.measurement.ingest.next_contact import chain, refresh_next_contacts, write_interactions
from billing.measurement.ingest.private import kept_raw
from billing.measurement.ingest.rejects import parsed_key
from billing.measurement.ingest.staging import CopyStager, SqliteStager, Stager, copy_text_value
from billing.measurement.pseudonyms import Pseudonymizer, pseudonymizer_for
from billing.storage.db import is_sqlite
from billing.storage.models import Interaction

COLUMNS = (
    "interaction_id",
    "contract",
    "channel",
    "customer_id",
    "started_at",
    "wait_seconds",
    "abandoned",
    "handle_seconds",
    "handled_by",
    "resolved",
    "escalated",
    "csat",
    "nps",
    "qa_score",
)
REQUIRED = ("interaction_id", "contract", "channel", "started_at", "wait_seconds", "abandoned")
#: Columns written to the interaction table: the file's columns with the contract resolved to
#: its id, the batch, and the contract's local day the contact started on.
STORED = ("contract_id", "interaction_id", *COLUMNS[2:], "batch_id", "local_day")
#: What a staged chunk holds per row (``billing.measurement.ingest.next_contact.chain``).
STAGED = (*STORED, "next_contact_at")
MAX_SECONDS = 2**31 - 1
ANALYZE_AFTER_ROWS = 10_000
#: The identifier columns and their domains (``billing.core.limits``); ``customer_id`` may be empty.
IDENTIFIERS = {"interaction_id": INTERACTION_ID, "channel": CHANNEL, "customer_id": CUSTOMER_ID}
#: Identifiers whose value a message never shows (personal data: docs/privacy.md).
PRIVATE = frozenset({"customer_id"})
_CONTRACT_AT, _CUSTOMER_AT = COLUMNS.index("contract"), COLUMNS.index("customer_id")

_BOOLEANS = {
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
}
BOOLEANS = {**_BOOLEANS, **{k.upper(): v for k, v in _BOOLEANS.items()}, **{k.title(): v for k, v in _BOOLEANS.items()}}
OPTIONAL_BOOLEANS = {**BOOLEANS, "": False}
HANDLERS = {"human": "human", "ai": "ai", "": "human"}
HUNDRED = Decimal(100)


class InteractionKind:
    name: str = "interactions"
    columns: tuple[str, ...] = COLUMNS
    required: tuple[str, ...] = REQUIRED

    def __init__(self) -> None:
        self.pseudonymizer: Pseudonymizer | None = None

    def converter(self, session: Session, source: str, batch_id: int) -> Any:
        self.pseudonymizer = pseudonymizer = pseudonymizer_for(session)
        pseudonym = pseudonymizer.cached()  # one key object, in the reader (docs/privacy.md)
        contracts = contract_ids(session)
        calendars = _calendars(session, contracts)
        qa_scaled = is_sqlite(session)
        fromiso = datetime.fromisoformat
        booleans, optional_booleans, handlers = BOOLEANS, OPTIONAL_BOOLEANS, HANDLERS
        # The domains' own quick yes (``TextDomain.accepts``) written out: a method call per
        # value costs a tenth of the row's conversion; the domain decides whenever it is a no.
        assert INTERACTION_ID.any_printable and CUSTOMER_ID.any_printable
        id_ok, id_max = INTERACTION_ID.accepts, INTERACTION_ID.max_length
        cust_ok, cust_max = CUSTOMER_ID.accepts, CUSTOMER_ID.max_length
        channels = _KnownChannels()  # a file holds a handful of channels: each checked once

        def convert(values: tuple[str, ...], line: int) -> tuple[tuple[Any, ...] | None, list[Problem]]:
            iid, code, channel, customer, started, wait, abandoned, handle, by, resolved, escalated, csat, nps, qa = (
                values
            )
            try:
                moment = fromiso(started)
                instant = int(moment.timestamp())
                wait_s = int(wait)
                answered = not booleans[abandoned]
                handle_s = int(handle) if handle else None
                csat_v = int(csat) if csat else None
                nps_v = int(nps) if nps else None
                row = (
                    contracts[code],
                    iid,
                    channel,
                    pseudonym(code, customer) if customer else None,  # THE place a customer id is stored
                    instant,
                    wait_s,
                    not answered,
                    handle_s,
                    handlers[by],
                    optional_booleans[resolved],
                    optional_booleans[escalated],
                    csat_v,
                    nps_v,
                    _qa(qa, qa_scaled) if qa else None,
                    batch_id,
                    calendars[code].day_of(instant),
                    line,
                )
                if (
                    moment.tzinfo is not None
                    and 0 <= wait_s <= MAX_SECONDS
                    and (handle_s is None or 0 <= handle_s <= MAX_SECONDS)
                    and (handle_s is not None or not answered)
                    and (csat_v is None or 1 <= csat_v <= 5)
                    and (nps_v is None or 0 <= nps_v <= 10)
                    and ((0 < len(iid) <= id_max and iid.isprintable()) or id_ok(iid))
                    and (channel in channels or channels.check(channel))
                    and (not customer or (len(customer) <= cust_max and customer.isprintable()) or cust_ok(customer))
                ):
                    return row, []
            except (ValueError, KeyError, InvalidOperation, OverflowError):
                pass
            return None, _problems(values, line, source, contracts)

        return convert

    def kept_raw(self, rows: RowSource, values: tuple[str, ...], raw: Any) -> tuple[str, str | None]:
        """A rejected row without its customer id: pseudonymised, or sealed (``private``)."""
        assert self.pseudonymizer is not None, "the converter is made before any row is read"
        return kept_raw(rows, values, raw, self.pseudonymizer, _CUSTOMER_AT, _CONTRACT_AT)

    def key_of(self, values: tuple[str, ...]) -> str | None:
        if not values:
            return None
        iid, code = values[0], values[1]
        if not (INTERACTION_ID.accepts(iid) and CONTRACT_CODE.accepts(code)):
            return None
        return json.dumps([code, iid], ensure_ascii=False)

    def stager(self, session: Session, folder: Path) -> Stager:
        """SQLite: chunks staged in files the writer copies from; PostgreSQL: ``COPY`` text."""
        if is_sqlite(session):
            return SqliteStager(folder, STAGED, chain)
        return CopyStager(chain, _copy_line)

    def write(self, session: Session, staged: Any) -> int:
        return write_interactions(session, STAGED, staged)

    def newest_id(self, session: Session) -> int:
        return int(session.execute(select(func.coalesce(func.max(Interaction.id), 0))).scalar_one())

    def after(self, session: Session, batch_id: int, first_new_id: int) -> None:
        if not is_sqlite(session):
            # Fresh statistics after a bulk load let PostgreSQL choose the parallel hash
            # aggregate for measurement instead of a plan made for an empty table.
            newest = self.newest_id(session)
            if newest - first_new_id >= ANALYZE_AFTER_ROWS:
                session.execute(text("ANALYZE interaction"))

    def recover(self, session: Session, batch_id: int) -> None:
        refresh_next_contacts(session, batch_id, 0)

    def existing_keys(self, session: Session, keys: Sequence[str]) -> set[str]:
        wanted: dict[str, dict[str, list[str]]] = {}  # contract -> interaction id -> its keys
        for key in keys:
            parts = parsed_key(key)
            if parts is not None and len(parts) == 2:
                wanted.setdefault(parts[0], {}).setdefault(parts[1], []).append(key)
        contracts = contract_ids(session)
        found: set[str] = set()
        i = Interaction.__table__.c  # type: ignore[attr-defined]
        for code, by_id in wanted.items():
            if code not in contracts:
                continue
            ids = list(by_id)
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                stored = session.execute(
                    select(i.interaction_id).where(i.contract_id == contracts[code], i.interaction_id.in_(part))
                ).scalars()
                found.update(key for iid in stored for key in by_id[iid])
        return found


class _KnownChannels(set[str]):
    """Channels seen valid in this import (up to a thousand: a file holds a handful)."""

    def check(self, channel: str) -> bool:
        if not CHANNEL.accepts(channel):
            return False
        if len(self) < 1000:
            self.add(channel)
        return True


def _copy_line(row: tuple[Any, ...]) -> str:
    """A ``STAGED`` row as a line of PostgreSQL ``COPY`` text, column by column: what the
    reader does for every row, so it is written out rather than looped over."""
    (cid, iid, channel, customer, started, wait, abandoned, handle, by, resolved, escalated, csat, nps, qa) = row[:14]
    batch, day, following = row[14:]
    n = "\\N"
    return (
        f"{cid}\t{copy_text_value(iid)}\t{copy_text_value(channel)}\t"
        f"{n if customer is None else copy_text_value(customer)}\t{started}\t{wait}\t{'t' if abandoned else 'f'}\t"
        f"{n if handle is None else handle}\t{by}\t{'t' if resolved else 'f'}\t{'t' if escalated else 'f'}\t"
        f"{n if csat is None else csat}\t{n if nps is None else nps}\t{n if qa is None else qa}\t"
        f"{batch}\t{day}\t{n if following is None else following}"
    )


def _calendars(session: Session, contracts: dict[str, int]) -> dict[str, LocalCalendar]:
    """Each contract's calendar, by code: its time zone files each contact under a local day.
    (A contract's time zone never changes: amendments may not change it.)"""
    from billing.contracts.store import terms_from_source
    from billing.storage.models import ContractVersion

    v = ContractVersion.__table__.c  # type: ignore[attr-defined]
    bases = session.execute(select(v.contract_id, v.source_text, v.source_name).where(v.is_amendment.is_(False)))
    zones = {int(cid): terms_from_source(text_, name).timezone for cid, text_, name in bases}
    return {code: LocalCalendar(zones[cid]) for code, cid in contracts.items()}


def _qa(text: str, scaled: bool) -> Any:
    value = Decimal(text)
    if not (0 <= value <= 100) or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(value * HUNDRED) if scaled else value


def _problems(values: tuple[str, ...], line: int, source: str, contracts: dict[str, int]) -> list[Problem]:
    """Every problem of a row that failed the fast path, one per column."""
    v = dict(zip(COLUMNS, values, strict=True))
    out: list[Problem] = []

    def bad(column: str, code: str, message: str) -> None:
        out.append(Problem(code, message, source, line, column))

    for column in REQUIRED:
        if not v[column].strip():
            bad(column, "missing_value", "is required")
    for column, domain in IDENTIFIERS.items():
        if v[column]:  # a missing one is reported with the other required columns
            _identifier(v[column], domain, column, bad, private=column in PRIVATE)
    if v["contract"]:  # a missing one is reported with the other required columns
        check_contract(v["contract"], contracts, bad)
    if v["started_at"]:
        try:
            moment = datetime.fromisoformat(v["started_at"])
        except ValueError:
            bad("started_at", "bad_timestamp", f"{shown(v['started_at'])} is not a valid ISO 8601 date and time")
        else:
            if moment.tzinfo is None:
                message = f"{shown(v['started_at'])} has no UTC offset (add Z or +hh:mm)"
                bad("started_at", "timestamp_without_offset", message)
    abandoned = _boolean(v, "abandoned", bad, required=True)
    for column in ("resolved", "escalated"):
        _boolean(v, column, bad, required=False)
    _whole(v, "wait_seconds", bad, 0, MAX_SECONDS)
    _whole(v, "handle_seconds", bad, 0, MAX_SECONDS)
    if abandoned is False and not v["handle_seconds"].strip():
        bad("handle_seconds", "missing_handle_time", "is required for an answered interaction (abandoned=false)")
    if v["handled_by"] not in HANDLERS:
        bad("handled_by", "bad_handler", f"{shown(v['handled_by'])} is not human or ai")
    _whole(v, "csat", bad, 1, 5)
    _whole(v, "nps", bad, 0, 10)
    if v["qa_score"]:
        try:
            _qa(v["qa_score"], False)
        except (ValueError, InvalidOperation):
            message = f"{shown(v['qa_score'])} is not a number from 0 to 100 with at most 2 decimals"
            bad("qa_score", "bad_score", message)
    if not out:  # a combination the fast path refused that no single check names
        bad("", "invalid_row", "the row could not be read")
    return out


def _identifier(value: str, domain: TextDomain, column: str, bad: Any, private: bool = False) -> None:
    """An identifier outside its domain: ``too_long`` or ``bad_characters``, with the reason
    (a private one's reason names no part of the value)."""
    reason = domain.problem(value)
    if reason is not None and private:
        reason = domain.problem_hidden(value)
    if reason is not None:
        bad(column, "too_long" if len(value) > domain.max_length else "bad_characters", reason)


def _boolean(v: dict[str, str], column: str, bad: Any, required: bool) -> bool | None:
    text = v[column]
    if not text.strip():
        return None  # a missing required value is reported once, by the caller
    value = BOOLEANS.get(text)
    if value is None:
        bad(column, "bad_boolean", f"{shown(text)} is not a boolean (true/false, 1/0, yes/no)")
    return value


def _whole(v: dict[str, str], column: str, bad: Any, low: int, high: int) -> int | None:
    text = v[column].strip()
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        bad(column, "not_a_whole_number", f"{shown(v[column])} is not a whole number")
        return None
    if not low <= number <= high:
        reason = "negative" if number < 0 and low == 0 else f"outside {low}-{high}"
        bad(column, "out_of_range", f"{number} is {reason}")
        return None
    return number
