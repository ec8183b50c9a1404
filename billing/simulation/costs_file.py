"""The costs file (docs/simulation.md): YAML text -> a validated ``CostsFile``, every problem
with its file, line and field, read with the contract language's reader and limits.

    currency: PEN                      # optional: refused for a contract in another currency
    default:
      agents: {per_fte_month: "5200.00", hours_per_fte: 160}   # or per_productive_hour
      ai: {per_contact: "0.30", per_resolution: "0.20"}
      fixed_monthly: "18000.00"
    contracts:
      BANDINO-2026:
        agents: {per_productive_hour: "31.00"}
"""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.language import read_document
from billing.contracts.language.reader import Reader, join
from billing.contracts.language.yaml_source import LineDict
from billing.core import limits
from billing.core.currencies import currency as lookup_currency
from billing.core.problems import Problem
from billing.simulation.costs import AgentCost, AiCost, CostsFile, CostTerms

_TOP_KEYS = {"currency", "default", "contracts", "description"}
_MODEL_KEYS = {"agents", "ai", "fixed_monthly"}


def load_costs_text(text: str, source: str) -> tuple[CostsFile | None, list[Problem]]:
    """Read and validate one costs file's text."""
    document, problems = read_document(text, source)
    if document is None:
        return None, problems
    return parse_costs(document, source)


def parse_costs(document: LineDict, source: str) -> tuple[CostsFile | None, list[Problem]]:
    r = Reader(source)
    r.unknown_keys(document, _TOP_KEYS, "")
    r.text(document, "description", "", required=False)
    code = r.text(document, "currency", "", required=False, domain=limits.CURRENCY_CODE)
    if code is not None:
        try:
            lookup_currency(code)
        except ValueError:
            r.problem("unknown_currency", f"unknown currency {code!r}", document, "currency", "currency")
    default = None
    if document.get("default") is not None:
        section = r.mapping(document, "default", "")
        default = _model(r, section, "default") if section is not None else None
    contracts: dict[str, CostTerms] = {}
    section = r.mapping(document, "contracts", "", required=False)
    for key in section or {}:
        assert section is not None
        path = join("contracts", key)
        reason = limits.CONTRACT_CODE.problem(str(key))
        if reason is not None:
            r.problem("invalid_text", reason, section, path, key)
            continue
        entry = r.mapping(section, key, "contracts")
        if entry is not None:
            model = _model(r, entry, path)
            if model is not None:
                contracts[str(key)] = model
    if default is None and not contracts and not r.problems:
        r.problem("missing", "a costs file gives a default model, a model per contract, or both", document, "default")
    if r.problems:
        return None, r.problems
    return CostsFile(source, code, default, contracts), []


def _model(r: Reader, m: LineDict, path: str) -> CostTerms | None:
    r.unknown_keys(m, _MODEL_KEYS, path)
    agents = _agents(r, m, path)
    ai = _ai(r, m, path)
    fixed = r.number(m, "fixed_monthly", path, required=False)
    if not _MODEL_KEYS & set(m):
        r.problem("missing", "a cost model gives at least one of agents, ai and fixed_monthly", m, path)
        return None
    if agents is None and ai is None and fixed is None:
        return None
    return CostTerms(agents, ai, fixed)


def _agents(r: Reader, doc: LineDict, path: str) -> AgentCost | None:
    m = r.mapping(doc, "agents", path, required=False)
    if m is None:
        return None
    here = join(path, "agents")
    r.unknown_keys(m, {"per_fte_month", "per_productive_hour", "hours_per_fte"}, here)
    per_fte = r.number(m, "per_fte_month", here, required=False)
    per_hour = r.number(m, "per_productive_hour", here, required=False)
    hours = r.number(m, "hours_per_fte", here, required=False, strictly_positive=True, maximum=Decimal(744))
    if ("per_fte_month" in m) == ("per_productive_hour" in m):
        r.problem("agents", "give exactly one of per_fte_month and per_productive_hour", m, here)
        return None
    if per_fte is None and per_hour is None:
        return None  # the number's own problem is recorded
    if hours is not None and per_hour is not None:
        r.problem("agents", "hours_per_fte converts a cost per FTE-month; it has no use here", m, here, "hours_per_fte")
        return None
    return AgentCost(per_fte, per_hour, hours) if hours is not None else AgentCost(per_fte, per_hour)


def _ai(r: Reader, doc: LineDict, path: str) -> AiCost | None:
    m = r.mapping(doc, "ai", path, required=False)
    if m is None:
        return None
    here = join(path, "ai")
    r.unknown_keys(m, {"per_contact", "per_resolution"}, here)
    per_contact = r.number(m, "per_contact", here, required=False)
    per_resolution = r.number(m, "per_resolution", here, required=False)
    if per_contact is None and per_resolution is None:
        if not any(p.field.startswith(here + ".") for p in r.problems):
            r.problem("missing", "give per_contact, per_resolution or both", m, here)
        return None
    return AiCost(per_contact or Decimal(0), per_resolution or Decimal(0))
