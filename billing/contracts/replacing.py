"""Correcting a contract before its first use: ``billing contracts load --replace``.

A version (the base terms, or the amendment effective on a date) that no numbered document
uses may be replaced by a corrected file: the stored text is rewritten in place, audited with
the digests before and after. Drafts rated under the old text keep its figures until the next
``close`` refreshes them. A version that an issued (or paid, or void but numbered) document
uses is immutable: change it with an amendment. The database enforces that too (migration 0012).

A replacement keeps the contract's identity (client, currency, time zone: start a new contract
to change those) and a base still starts before, and ends after, every amendment of it.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from billing.contracts.store import (
    ContractFile,
    LoadOutcome,
    issuer_problem,
    store_one,
    terms_from_source,
    upsert_client,
    version_fields,
    versions_of,
)
from billing.contracts.terms import ContractTerms
from billing.core.problems import Problem, ProblemsError
from billing.storage.audit import record
from billing.storage.models import Contract, ContractVersion, Document


def store_replacing(session: Session, files: list[ContractFile], actor: str) -> list[LoadOutcome]:
    """Like ``store_contracts``, but a file whose version is already stored replaces it when no
    numbered document uses it (caller's transaction; ``ProblemsError`` with every refusal)."""
    outcomes: list[LoadOutcome] = []
    problems: list[Problem] = []
    for f in files:
        contract = session.exec(select(Contract).where(Contract.code == f.terms.code)).first()
        target = _target(session, contract, f.terms) if contract is not None else None
        if contract is None or target is None:
            outcome, found = store_one(session, f.source, f.text, f.terms, actor)
        else:
            outcome, found = _replace(session, contract, target, f, actor)
        problems.extend(found)
        if outcome:
            outcomes.append(outcome)
    if problems:
        raise ProblemsError(problems)
    session.flush()
    return outcomes


def _target(session: Session, contract: Contract, terms: ContractTerms) -> ContractVersion | None:
    """The stored version this file would replace: the base, or the amendment of its date."""
    assert contract.id is not None
    for version in versions_of(session, contract.id):
        if terms.effective_from is None and not version.is_amendment:
            return version
        if terms.effective_from is not None and version.is_amendment and version.effective_from == terms.effective_from:
            return version
    return None


def _replace(
    session: Session, contract: Contract, target: ContractVersion, f: ContractFile, actor: str
) -> tuple[LoadOutcome | None, list[Problem]]:
    terms, source = f.terms, f.source
    old = terms_from_source(target.source_text, target.source_name)
    if old == terms:
        return LoadOutcome(source, terms.code, terms.effective_start, "unchanged"), []
    problems = []
    problem = issuer_problem(session, terms, source)
    if problem:
        problems.append(problem)
    used = session.exec(
        select(Document.number_text, Document.status).where(
            Document.terms_version_id == target.id, col(Document.number).is_not(None)
        )
    ).first()
    if used is not None:
        problems.append(
            Problem(
                "version_in_use",
                f"the version of {terms.code} effective {target.effective_from} is used by {used[0]} ({used[1]}): "
                "it is immutable; change it with an amendment (effective_from: the first day of a period)",
                source,
                None,
                "contract",
            )
        )
    for field, before, after in (
        ("client.id", old.client.id, terms.client.id),
        ("currency", old.currency.code, terms.currency.code),
        ("timezone", old.timezone, terms.timezone),
    ):
        if before != after:
            problems.append(
                Problem(
                    "replace_changes_identity",
                    f"a replacement cannot change {field} ({before} -> {after}); start a new contract",
                    source,
                    None,
                    field,
                )
            )
    if not target.is_amendment:
        problems += _base_still_frames_amendments(session, contract, terms, source)
    if problems:
        return None, problems
    rated = select(Document.id).where(Document.terms_version_id == target.id, Document.status == "draft")
    drafts = len(session.exec(rated).all())
    previous = target.digest
    for name, value in version_fields(source, f.text, terms).items():
        setattr(target, name, value)
    session.add(target)
    upsert_client(session, terms)
    record(
        session,
        actor,
        "contract.replaced",
        "contract",
        terms.code,
        {
            "source": source,
            "effective_from": terms.effective_start.isoformat(),
            "previous_digest": previous,
            "digest": target.digest,
            "drafts_to_refresh": drafts,
        },
    )
    return LoadOutcome(source, terms.code, terms.effective_start, "replaced", drafts), []


def _base_still_frames_amendments(
    session: Session, contract: Contract, terms: ContractTerms, source: str
) -> list[Problem]:
    assert contract.id is not None
    amendments = [v.effective_from for v in versions_of(session, contract.id) if v.is_amendment]
    problems = []
    first: date | None = min(amendments) if amendments else None
    last: date | None = max(amendments) if amendments else None
    if first is not None and terms.start >= first:
        problems.append(
            Problem(
                "amendment_before_start",
                f"the new start {terms.start} is not before the amendment effective {first}",
                source,
                None,
                "start",
            )
        )
    if last is not None and terms.end is not None and terms.end < last:
        problems.append(
            Problem(
                "amendment_after_end",
                f"the new end {terms.end} is before the amendment effective {last}",
                source,
                None,
                "end",
            )
        )
    return problems
