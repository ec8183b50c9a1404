"""Contracts and their versions: loading files, and finding the terms in force for a period.

Reading validates files (``read_files``); storing (``store_contracts``) runs in the caller's
transaction and reports every conflict with what is stored. Loading the same terms twice is a
no-op. The service that loads contracts for a command is ``billing.measurement.contracts``:
it also extends each contract's daily-rollup basis in the same transaction.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, col, select

from billing.contracts.language import load_terms_text, read_document, to_plain
from billing.contracts.terms import ContractTerms
from billing.core.periods import Period
from billing.core.problems import Problem, ProblemsError
from billing.storage.audit import record
from billing.storage.models import BillingEntity, Client, Contract, ContractVersion, Document


@dataclass(frozen=True)
class LoadOutcome:
    source: str
    code: str
    effective_from: date
    action: str  # "created", "amended", "unchanged", "replaced"
    #: For a replaced version: drafts rated under the old text, refreshed by the next close.
    drafts: int = 0


@lru_cache(maxsize=16384)
def terms_from_source(text: str, source: str = "stored") -> ContractTerms:
    """Terms rebuilt from a stored version's verbatim text (validated when it was loaded)."""
    terms, problems = load_terms_text(text, source)
    if terms is None:
        raise ValueError(f"stored contract {source} no longer validates: " + "; ".join(map(str, problems)))
    return terms


@dataclass(frozen=True)
class ContractFile:
    """A contract file that validated: where it came from, its verbatim text and its terms."""

    source: str
    text: str
    terms: ContractTerms


def read_files(paths: list[Path]) -> list[ContractFile]:
    """Read and validate contract files without storing anything; raise ``ProblemsError`` with
    every problem of every file. Bases come before amendments, amendments in date order, so one
    command can load a whole history."""
    parsed: list[ContractFile] = []
    problems: list[Problem] = []
    for path in paths:
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem("file", f"cannot read the file: {exc}", source))
            continue
        terms, found = load_terms_text(text, source)
        problems.extend(found)
        if terms is not None:
            parsed.append(ContractFile(source, text, terms))
    if problems:
        raise ProblemsError(problems)
    parsed.sort(key=lambda f: (f.terms.code, f.terms.effective_from is not None, f.terms.effective_start))
    return parsed


def store_contracts(session: Session, files: list[ContractFile], actor: str) -> list[LoadOutcome]:
    """Store validated files as contracts and versions in the caller's transaction; raise
    ``ProblemsError`` with every conflict with what is stored (the caller rolls back)."""
    outcomes: list[LoadOutcome] = []
    problems: list[Problem] = []
    for f in files:
        outcome, found = store_one(session, f.source, f.text, f.terms, actor)
        problems.extend(found)
        if outcome:
            outcomes.append(outcome)
    if problems:
        raise ProblemsError(problems)
    session.flush()
    return outcomes


def store_one(
    session: Session, source: str, text: str, terms: ContractTerms, actor: str
) -> tuple[LoadOutcome | None, list[Problem]]:
    """Store one validated file as a new contract or amendment (or nothing, when the same terms
    are loaded); the problems that refuse it otherwise."""
    problem = issuer_problem(session, terms, source)
    if problem:
        return None, [problem]
    contract = session.exec(select(Contract).where(Contract.code == terms.code)).first()
    effective = terms.effective_start
    if contract is None:
        if terms.effective_from is not None:
            return None, [
                Problem(
                    "amendment_without_base",
                    f"contract {terms.code} is not loaded: load its base file before this amendment",
                    source,
                    None,
                    "effective_from",
                )
            ]
        upsert_client(session, terms)
        contract = Contract(code=terms.code, client_id=terms.client.id)
        session.add(contract)
        session.flush()
        add_version(session, contract, source, text, terms)
        record(session, actor, "contract.created", "contract", terms.code, {"source": source})
        return LoadOutcome(source, terms.code, effective, "created"), []

    versions = versions_of(session, contract.id)  # type: ignore[arg-type]
    base = terms_from_source(versions[0].source_text, versions[0].source_name)
    same_date = next(
        (v for v in versions if v.effective_from == effective and v.is_amendment == (terms.effective_from is not None)),
        None,
    )
    if same_date is not None:
        if terms_from_source(same_date.source_text, same_date.source_name) == terms:
            return LoadOutcome(source, terms.code, effective, "unchanged"), []
        if terms.effective_from is None:
            return None, [
                Problem(
                    "contract_redefined",
                    f"contract {terms.code} is already loaded with different terms; change it with "
                    "an amendment (effective_from: the first day of a period)",
                    source,
                    None,
                    "contract",
                )
            ]
        return None, [
            Problem(
                "amendment_overlap",
                f"an amendment of {terms.code} effective {effective} is already loaded with different terms",
                source,
                None,
                "effective_from",
            )
        ]
    if terms.effective_from is None:
        return None, [
            Problem(
                "contract_redefined",
                f"contract {terms.code} already has base terms from {versions[0].source_name}; "
                "change it with an amendment",
                source,
                None,
                "contract",
            )
        ]
    problems = []
    for field, old, new in (
        ("client.id", base.client.id, terms.client.id),
        ("currency", base.currency.code, terms.currency.code),
        ("timezone", base.timezone, terms.timezone),
    ):
        if old != new:
            problems.append(
                Problem(
                    "amendment_changes_identity",
                    f"an amendment cannot change {field} ({old} -> {new}); start a new contract",
                    source,
                    None,
                    field,
                )
            )
    if effective <= versions[0].effective_from:
        problems.append(
            Problem(
                "amendment_before_start",
                f"effective_from {effective} is not after the contract start {versions[0].effective_from}",
                source,
                None,
                "effective_from",
            )
        )
    issued = session.exec(
        select(Document.number_text, Document.period).where(
            Document.contract_id == contract.id,
            Document.kind == "invoice",
            col(Document.status).in_(["issued", "paid"]),
            Document.period >= str(Period.of_date(effective)),
        )
    ).first()
    if issued is not None:
        problems.append(
            Problem(
                "amendment_after_issue",
                f"period {issued[1]} is already invoiced ({issued[0]}); an amendment can only "
                "take effect after the last issued period",
                source,
                None,
                "effective_from",
            )
        )
    if problems:
        return None, problems
    upsert_client(session, terms)
    add_version(session, contract, source, text, terms)
    record(
        session,
        actor,
        "contract.amended",
        "contract",
        terms.code,
        {"source": source, "effective_from": effective.isoformat()},
    )
    return LoadOutcome(source, terms.code, effective, "amended"), []


def issuer_problem(session: Session, terms: ContractTerms, source: str) -> Problem | None:
    """The issuer a contract names must be loaded first (``billing entities load``)."""
    if terms.issuer is None or session.get(BillingEntity, terms.issuer) is not None:
        return None
    return Problem(
        "unknown_issuer",
        f"issuer {terms.issuer!r} is not a loaded billing entity: load its entity file first",
        source,
        None,
        "issuer",
    )


def version_fields(source: str, text: str, terms: ContractTerms) -> dict[str, object]:
    """The columns of a contract version stored from this file."""
    document, _ = read_document(text, source)
    return {
        "effective_from": terms.effective_start,
        "is_amendment": terms.effective_from is not None,
        "source_name": Path(source).name,
        "source_text": text,
        "digest": hashlib.sha256(text.encode()).hexdigest(),
        "document": to_plain(document),
    }


def add_version(session: Session, contract: Contract, source: str, text: str, terms: ContractTerms) -> None:
    assert contract.id is not None
    session.add(ContractVersion(contract_id=contract.id, **version_fields(source, text, terms)))  # type: ignore[arg-type]


def upsert_client(session: Session, terms: ContractTerms) -> None:
    """The client row follows the client block of the latest file loaded."""
    info = terms.client
    client = session.get(Client, info.id)
    if client is None:
        client = Client(id=info.id, name=info.name)
    client.name, client.locale, client.tax_id = info.name, info.locale, info.tax_id
    client.email = info.email or client.email
    client.legal_name, client.tax_scheme = info.legal_name, info.tax_scheme
    client.address = info.address.as_json() if info.address else None
    client.billing_email = info.billing_email
    session.add(client)
    session.flush()


# -- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractInForce:
    contract_id: int
    version_id: int
    terms: ContractTerms


def get_contract(session: Session, code: str) -> Contract:
    contract = session.exec(select(Contract).where(Contract.code == code)).first()
    if contract is None:
        raise LookupError(f"no contract {code!r}")
    return contract


def versions_of(session: Session, contract_id: int) -> list[ContractVersion]:
    return list(
        session.exec(
            select(ContractVersion)
            .where(ContractVersion.contract_id == contract_id)
            .order_by(col(ContractVersion.effective_from))
        ).all()
    )


def terms_in_force(session: Session, code: str, period: Period) -> ContractInForce:
    """The version that governs ``period``: the latest one effective on or before its last day
    (a base starting mid-month governs its partial first month)."""
    contract = get_contract(session, code)
    return in_force(versions_of(session, contract.id), contract.id, period)  # type: ignore[arg-type]


def in_force(versions: list[ContractVersion], contract_id: int, period: Period) -> ContractInForce:
    chosen = None
    for version in versions:
        if version.effective_from <= period.last_day:
            chosen = version
    if chosen is None:
        chosen = versions[0]
    assert chosen.id is not None
    return ContractInForce(
        contract_id,
        chosen.id,
        terms_from_source(chosen.source_text, chosen.source_name),
    )


def terms_at(session: Session, code: str, day: date) -> ContractInForce:
    return terms_in_force(session, code, Period.of_date(day))


def active_contracts(session: Session, period: Period) -> list[ContractInForce]:
    """Every contract whose terms in force cover at least one day of ``period``; a stored
    version that no longer validates raises ``ValueError`` (see ``contracts_in_force``)."""
    found, unreadable = contracts_in_force(session, period)
    if unreadable:
        raise ValueError(unreadable[0].message)
    return found


@dataclass(frozen=True)
class UnreadableContract:
    """A contract whose terms in force for a period could not be rebuilt from what is stored."""

    contract_id: int
    code: str
    message: str


def contracts_in_force(session: Session, period: Period) -> tuple[list[ContractInForce], list[UnreadableContract]]:
    """Like ``active_contracts``, but a contract whose stored version no longer validates (text
    changed by direct SQL, a language rule tightened since it was loaded) is reported beside
    the others instead of stopping them. Contracts in code order."""
    by_contract: dict[int, list[ContractVersion]] = {}
    codes: dict[int, str] = {}
    rows = session.exec(
        select(ContractVersion, Contract.code)
        .join(Contract)
        .order_by(col(Contract.code), col(ContractVersion.effective_from))
    ).all()
    for version, code in rows:
        by_contract.setdefault(version.contract_id, []).append(version)
        codes[version.contract_id] = code
    out, unreadable = [], []
    for contract_id, versions in by_contract.items():
        try:
            current = in_force(versions, contract_id, period)
        except Exception as exc:  # whatever the cause, one contract never stops the others
            message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            unreadable.append(UnreadableContract(contract_id, codes[contract_id], message))
            continue
        if current.terms.is_active(period):
            out.append(current)
    return out, unreadable
