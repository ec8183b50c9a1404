"""The entity file: who issues documents (docs/entities.md). Read like a contract file (YAML
with lines, every problem collected with file, line and field) into a frozen ``Entity``."""

from __future__ import annotations

from billing.contracts.identifiers import (
    account_problem,
    cci_problem,
    iban_problem,
    routing_problem,
    swift_problem,
)
from billing.contracts.language.parties import address_of, tax_id_of
from billing.contracts.language.reader import Reader, items, join
from billing.contracts.language.yaml_source import LineDict, read_document
from billing.contracts.terms import BankAccount, Entity
from billing.core import limits
from billing.core.currencies import currency as lookup_currency
from billing.core.problems import Problem

ENTITY_KEYS = {
    "entity",
    "legal_name",
    "trade_name",
    "tax_id",
    "tax_scheme",
    "address",
    "email",
    "phone",
    "bank_accounts",
    "logo",
    "footer",
    "description",
}
ACCOUNT_KEYS = {"currency", "bank", "account", "iban", "cci", "routing", "swift"}
#: Account fields and the check each is held to.
CHECKS = {"iban": iban_problem, "cci": cci_problem, "routing": routing_problem, "swift": swift_problem}


def parse_entity(document: LineDict, source: str) -> tuple[Entity | None, list[Problem]]:
    r = Reader(source)
    r.unknown_keys(document, ENTITY_KEYS, "")
    code = r.text(document, "entity", "", domain=limits.ENTITY_CODE)
    legal_name = r.text(document, "legal_name", "", domain=limits.NAME)
    trade_name = r.text(document, "trade_name", "", required=False, domain=limits.NAME)
    if document.get("tax_scheme") is None:
        r.problem("missing", "is required: the scheme its tax id is checked against", document, "tax_scheme")
    scheme, tax_id = tax_id_of(r, document, "", required=True)
    address = address_of(r, document, "", required=True)
    email = r.text(document, "email", "", required=False, domain=limits.EMAIL)
    phone = r.text(document, "phone", "", required=False, domain=limits.PHONE)
    accounts = _accounts(r, document)
    logo = r.text(document, "logo", "", required=False, domain=limits.DESCRIPTION)
    footer = r.text(document, "footer", "", required=False, domain=limits.FOOTER)
    if r.problems:
        return None, r.problems
    assert code and legal_name and scheme and tax_id and address
    entity = Entity(code, legal_name, scheme, tax_id, address, trade_name, email, phone, accounts, logo, footer)
    return entity, []


def _accounts(r: Reader, document: LineDict) -> tuple[BankAccount, ...]:
    seq = r.sequence(document, "bank_accounts", "", required=False)
    if seq is None:
        return ()
    if len(seq) > limits.MAX_BANK_ACCOUNTS:
        r.problem("range", f"at most {limits.MAX_BANK_ACCOUNTS} bank accounts", seq, "bank_accounts")
        return ()
    out = []
    for line, path, item in items(seq, "bank_accounts"):
        if not isinstance(item, LineDict):
            r.problem("type", "must be a mapping", line, path)
            continue
        r.unknown_keys(item, ACCOUNT_KEYS, path)
        code = r.text(item, "currency", path, domain=limits.CURRENCY_CODE)
        if code is not None:
            try:
                lookup_currency(code)
            except ValueError:
                r.problem("unknown_currency", f"unknown currency {code!r}", item, join(path, "currency"), "currency")
                code = None
        bank = r.text(item, "bank", path, domain=limits.NAME)
        numbers: dict[str, str | None] = {}
        for key in ("account", "iban", "cci", "routing", "swift"):
            value = r.text(item, key, path, required=False, domain=limits.ACCOUNT_NUMBER)
            if value is None:
                numbers[key] = None
                continue
            canonical, problem = (CHECKS.get(key) or account_problem)(value)
            if problem:
                r.problem("bank_account", problem, item, join(path, key), key)
            numbers[key] = canonical
        if not any(numbers[key] or item.get(key) for key in ("account", "iban", "cci")):
            r.problem("missing", "a bank account needs an account, an iban or a cci", item, path)
        if item.get("routing") is not None and item.get("account") is None:
            r.problem("missing", "a routing number goes with an account number", item, join(path, "account"))
        if code and bank:
            out.append(BankAccount(code, bank, **numbers))
    return tuple(out)


def load_entity_text(text: str, source: str) -> tuple[Entity | None, list[Problem]]:
    document, problems = read_document(text, source, "an entity file holds one mapping (entity: ..., legal_name: ...)")
    if document is None:
        return None, problems
    return parse_entity(document, source)
