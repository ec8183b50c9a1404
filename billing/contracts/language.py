"""The contract language (SPEC section 3): YAML text -> validated, frozen ``ContractTerms``.

The pipeline is ``read_document`` (YAML with line numbers, numbers kept exact) then
``parse_terms`` (document -> terms, collecting every problem with file, line and field).
Nothing is stored here; the contracts service decides what to do with the result.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import yaml

from billing.contracts.terms import (
    DEFAULT_HOURS_PER_FTE,
    DEFAULT_THRESHOLD_SECONDS,
    Charge,
    ChargeType,
    ClientInfo,
    ContractTerms,
    Filter,
    FixedCharge,
    FteCharge,
    HandledBy,
    HeadcountStep,
    HourlyCharge,
    Invoicing,
    KpiMetric,
    Pricing,
    PricingModel,
    Reconciliation,
    ResolutionRule,
    ServiceLevel,
    ServiceLevelFormula,
    ServiceLevels,
    Tax,
    Tier,
    UsageCharge,
    UsageMetric,
)
from billing.core.currencies import currency as lookup_currency
from billing.core.currencies import is_known_locale
from billing.core.money import RoundingMode
from billing.core.periods import Period, is_valid_timezone
from billing.core.problems import Problem

T = TypeVar("T")


class LineDict(dict[str, Any]):
    """A YAML mapping that remembers the line of its own start and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed: ~10x faster


class _Loader(_SafeBase):  # type: ignore[valid-type,misc]
    """Safe YAML with exact numbers: floats become Decimal from their source text."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        out[str(key) if not isinstance(key, str) else key] = loader.construct_object(value_node, deep=True)
        out.key_lines[str(key)] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> Decimal | str:
    text = str(node.value).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        return text  # .inf / .nan: left as text, refused by the number checks


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)  # type: ignore[arg-type]
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)  # type: ignore[arg-type]


def read_document(text: str, source: str) -> tuple[LineDict | None, list[Problem]]:
    """Parse YAML text into a mapping with line numbers, or report why it is not one."""
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem("yaml", f"not valid YAML: {reason}", source, line)]
    if not isinstance(document, LineDict):
        return None, [Problem("yaml", "a contract file holds one mapping (contract: ..., charges: ...)", source, 1)]
    return document, []


def to_plain(value: Any) -> Any:
    """The document as JSON-storable data (Decimals and dates as strings)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --------------------------------------------------------------------------------------
# Validation: a reader that records problems instead of raising on the first one.


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, code: str, message: str, where: Any, path: str, key: str | None = None) -> None:
        line = None
        if isinstance(where, LineDict):
            line = where.key_lines.get(key, where.line) if key else where.line
        elif isinstance(where, LineList):
            line = where.line
        elif isinstance(where, int):
            line = where
        self.problems.append(Problem(code, message, self.source, line, path))

    # Field readers: each returns None (and records a problem) when the value is unusable.

    def field(self, m: LineDict, key: str, path: str, required: bool = True) -> Any:
        if key not in m or m[key] is None:
            if required:
                self.problem("missing", "is required", m, _join(path, key))
            return None
        return m[key]

    def text(self, m: LineDict, key: str, path: str, required: bool = True) -> str | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if isinstance(value, dict | list | bool):
            self.problem("type", "must be text", m, _join(path, key), key)
            return None
        text = str(value).strip()
        if not text:
            self.problem("empty", "must not be empty", m, _join(path, key), key)
            return None
        return text

    def number(
        self,
        m: LineDict,
        key: str,
        path: str,
        required: bool = True,
        minimum: Decimal | None = Decimal(0),
        strictly_positive: bool = False,
    ) -> Decimal | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        where = _join(path, key)
        if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
            self.problem("number", f"must be a number, got {value!r}", m, where, key)
            return None
        try:
            number = Decimal(str(value).strip().replace("_", ""))
        except ArithmeticError:
            self.problem("number", f"must be a number, got {value!r}", m, where, key)
            return None
        if not number.is_finite():
            self.problem("number", f"must be a finite number, got {value!r}", m, where, key)
            return None
        if strictly_positive and number <= 0:
            self.problem("negative", f"must be greater than zero, got {value}", m, where, key)
            return None
        if minimum is not None and number < minimum:
            self.problem("negative", f"must not be below {minimum}, got {value}", m, where, key)
            return None
        return number

    def integer(self, m: LineDict, key: str, path: str, required: bool = True, minimum: int = 0) -> int | None:
        number = self.number(m, key, path, required, Decimal(minimum))
        if number is None:
            return None
        if number != number.to_integral_value():
            self.problem("integer", f"must be a whole number, got {number}", m, _join(path, key), key)
            return None
        return int(number)

    def day(self, m: LineDict, key: str, path: str, required: bool = True) -> date | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if isinstance(value, datetime) or not isinstance(value, date):
            try:
                return date.fromisoformat(str(value))
            except ValueError:
                self.problem("date", f"must be a date YYYY-MM-DD, got {value!r}", m, _join(path, key), key)
                return None
        return value

    def boolean(self, m: LineDict, key: str, path: str, default: bool) -> bool:
        value = m.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem("boolean", f"must be true or false, got {value!r}", m, _join(path, key), key)
            return default
        return value

    def mapping(self, m: LineDict, key: str, path: str, required: bool = True) -> LineDict | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if not isinstance(value, LineDict):
            self.problem("type", "must be a mapping", m, _join(path, key), key)
            return None
        return value

    def sequence(self, m: LineDict, key: str, path: str, required: bool = True) -> LineList | None:
        value = self.field(m, key, path, required)
        if value is None:
            return None
        if not isinstance(value, LineList):
            self.problem("type", "must be a list", m, _join(path, key), key)
            return None
        return value

    def choice(
        self,
        m: LineDict,
        key: str,
        path: str,
        enum: Callable[[str], T],
        allowed: list[str],
        required: bool = True,
        what: str = "value",
    ) -> T | None:
        value = self.text(m, key, path, required)
        if value is None:
            return None
        if value not in allowed:
            self.problem(
                f"unknown_{what.replace(' ', '_')}",
                f"unknown {what} {value!r}; expected one of {', '.join(allowed)}",
                m,
                _join(path, key),
                key,
            )
            return None
        return enum(value)

    def unknown_keys(self, m: LineDict, allowed: set[str], path: str) -> None:
        for key in m:
            if key not in allowed:
                self.problem("unknown_field", f"unknown field {key!r}", m, _join(path, key), key)


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _items(seq: LineList, path: str) -> list[tuple[int, str, Any]]:
    return [(seq.item_lines[i], f"{path}[{i}]", item) for i, item in enumerate(seq)]


_TOP_KEYS = {
    "contract",
    "client",
    "currency",
    "timezone",
    "start",
    "end",
    "effective_from",
    "rounding",
    "tax",
    "invoicing",
    "resolution",
    "charges",
    "service_levels",
    "reconciliation",
    "description",
}


def parse_terms(document: LineDict, source: str) -> tuple[ContractTerms | None, list[Problem]]:
    """Validate a contract document; return the terms, or None and every problem found."""
    r = _Reader(source)
    r.unknown_keys(document, _TOP_KEYS, "")
    code = r.text(document, "contract", "")
    client = _client(r, document)
    currency = None
    currency_code = r.text(document, "currency", "")
    if currency_code is not None:
        try:
            currency = lookup_currency(currency_code)
        except ValueError:
            r.problem("unknown_currency", f"unknown currency {currency_code!r}", document, "currency", "currency")
    timezone = r.text(document, "timezone", "")
    if timezone is not None and not is_valid_timezone(timezone):
        r.problem("unknown_timezone", f"unknown time zone {timezone!r}", document, "timezone", "timezone")
        timezone = None
    start = r.day(document, "start", "")
    end = r.day(document, "end", "", required=False)
    if start and end and end < start:
        r.problem("dates", f"end {end} is before start {start}", document, "end", "end")
    effective_from = r.day(document, "effective_from", "", required=False)
    if effective_from is not None:
        if effective_from.day != 1:
            r.problem(
                "amendment_mid_period",
                f"an amendment takes effect on the first day of a period, not {effective_from}",
                document,
                "effective_from",
                "effective_from",
            )
        if start and effective_from <= start:
            r.problem(
                "amendment_before_start",
                f"effective_from {effective_from} must be after start {start}",
                document,
                "effective_from",
                "effective_from",
            )
        if end and effective_from > end:
            r.problem(
                "amendment_after_end",
                f"effective_from {effective_from} is after end {end}",
                document,
                "effective_from",
                "effective_from",
            )
    rounding = (
        r.choice(
            document,
            "rounding",
            "",
            RoundingMode,
            [m.value for m in RoundingMode],
            required=False,
            what="rounding mode",
        )
        or RoundingMode.HALF_UP
    )
    tax = _tax(r, document)
    invoicing = _invoicing(r, document)
    resolution = _resolution(r, document)
    reconciliation = _reconciliation(r, document)
    charges = _charges(r, document)
    service_levels = _service_levels(r, document)

    if r.problems:
        return None, r.problems
    assert code and client and currency and timezone and start and invoicing and charges is not None
    terms = ContractTerms(
        code=code,
        client=client,
        currency=currency,
        timezone=timezone,
        start=start,
        end=end,
        effective_from=effective_from,
        rounding=rounding,
        tax=tax,
        invoicing=invoicing,
        resolution=resolution,
        charges=charges,
        service_levels=service_levels,
        reconciliation=reconciliation,
    )
    return terms, []


def _client(r: _Reader, doc: LineDict) -> ClientInfo | None:
    m = r.mapping(doc, "client", "")
    if m is None:
        return None
    r.unknown_keys(m, {"id", "name", "locale", "tax_id", "email"}, "client")
    cid = r.text(m, "id", "client")
    name = r.text(m, "name", "client")
    locale = r.text(m, "locale", "client", required=False) or "en_US"
    if not is_known_locale(locale):
        r.problem("unknown_locale", f"unknown locale {locale!r}", m, "client.locale", "locale")
    tax_id = r.text(m, "tax_id", "client", required=False)
    email = r.text(m, "email", "client", required=False)
    if cid is None or name is None:
        return None
    return ClientInfo(cid, name, locale, tax_id, email)


def _tax(r: _Reader, doc: LineDict) -> Tax | None:
    m = r.mapping(doc, "tax", "", required=False)
    if m is None:
        return None
    r.unknown_keys(m, {"name", "rate"}, "tax")
    name = r.text(m, "name", "tax")
    rate = r.number(m, "rate", "tax")
    if rate is not None and rate > 100:
        r.problem("range", f"a tax rate is a percent between 0 and 100, got {rate}", m, "tax.rate", "rate")
    return Tax(name, rate) if name and rate is not None else None


def _invoicing(r: _Reader, doc: LineDict) -> Invoicing | None:
    m = r.mapping(doc, "invoicing", "")
    if m is None:
        return None
    r.unknown_keys(m, {"series", "credit_note_series", "debit_note_series", "payment_terms_days"}, "invoicing")
    series = r.text(m, "series", "invoicing")
    credit = r.text(m, "credit_note_series", "invoicing")
    debit = r.text(m, "debit_note_series", "invoicing", required=False)
    days = r.integer(m, "payment_terms_days", "invoicing", required=False)
    if series and credit and series == credit:
        r.problem(
            "series",
            "the credit note series must differ from the invoice series",
            m,
            "invoicing.credit_note_series",
            "credit_note_series",
        )
    if series is None or credit is None:
        return None
    return Invoicing(series, credit, debit or f"{series}-ND", 30 if days is None else days)


def _resolution(r: _Reader, doc: LineDict) -> ResolutionRule:
    m = r.mapping(doc, "resolution", "", required=False)
    if m is None:
        return ResolutionRule()
    r.unknown_keys(m, {"repeat_window_days", "exclude_escalated"}, "resolution")
    days = r.integer(m, "repeat_window_days", "resolution", required=False)
    return ResolutionRule(7 if days is None else days, r.boolean(m, "exclude_escalated", "resolution", True))


def _reconciliation(r: _Reader, doc: LineDict) -> Reconciliation:
    m = r.mapping(doc, "reconciliation", "", required=False)
    if m is None:
        return Reconciliation()
    r.unknown_keys(m, {"tolerance_percent"}, "reconciliation")
    tolerance = r.number(m, "tolerance_percent", "reconciliation", required=False)
    return Reconciliation(tolerance if tolerance is not None else Decimal("0.5"))


def _filter(r: _Reader, m: LineDict, path: str, key: str = "filter") -> Filter:
    """A charge's ``filter: {channels, handled_by}``, or a level's inline ``channels``/``handled_by``."""
    source = m if key == "" else r.mapping(m, key, path, required=False)
    if source is None:
        return Filter()
    fpath = path if key == "" else _join(path, key)
    if key:
        r.unknown_keys(source, {"channels", "handled_by"}, fpath)
    channels = _string_list(r, source, "channels", fpath)
    handled_by = _string_list(r, source, "handled_by", fpath)
    if handled_by:
        for who in handled_by:
            if who not in {h.value for h in HandledBy}:
                r.problem(
                    "unknown_handled_by",
                    f"handled_by is human or ai, got {who!r}",
                    source,
                    _join(fpath, "handled_by"),
                    "handled_by",
                )
    return Filter(channels, handled_by)


def _string_list(r: _Reader, m: LineDict, key: str, path: str) -> tuple[str, ...] | None:
    value = m.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        r.problem("type", "must be a non-empty list of names", m, _join(path, key), key)
        return None
    return tuple(v.strip() for v in value)


_CHARGE_KEYS = {
    ChargeType.FIXED: {"amount"},
    ChargeType.FTE: {"rate", "headcount", "minimum_fte", "hours_per_fte"},
    ChargeType.HOURLY: {"rate"},
    ChargeType.USAGE: {"metric", "filter", "pricing", "included", "minimum_amount", "maximum_amount"},
}


def _charges(r: _Reader, doc: LineDict) -> tuple[Charge, ...] | None:
    seq = r.sequence(doc, "charges", "")
    if seq is None:
        return None
    if not seq:
        r.problem("empty", "a contract has at least one charge", seq, "charges")
        return None
    out: list[Charge] = []
    seen: dict[str, int] = {}
    for line, path, item in _items(seq, "charges"):
        if not isinstance(item, LineDict):
            r.problem("type", "each charge is a mapping", line, path)
            continue
        charge = _charge(r, item, path)
        cid = item.get("id")
        if isinstance(cid, str):
            if cid in seen:
                r.problem("duplicate_id", f"charge id {cid!r} is used twice", item, _join(path, "id"), "id")
            seen[cid] = line
        if charge is not None:
            out.append(charge)
    return tuple(out)


def _charge(r: _Reader, m: LineDict, path: str) -> Charge | None:
    cid = r.text(m, "id", path)
    ctype = r.choice(m, "type", path, ChargeType, [t.value for t in ChargeType], what="charge type")
    description = r.text(m, "description", path, required=False)
    if ctype is None:
        return None
    r.unknown_keys(m, {"id", "type", "description"} | _CHARGE_KEYS[ctype], path)
    if ctype is ChargeType.FIXED:
        amount = r.number(m, "amount", path)
        if cid is None or amount is None:
            return None
        return FixedCharge(cid, description or "Fixed fee", amount)
    if ctype is ChargeType.HOURLY:
        rate = r.number(m, "rate", path)
        if cid is None or rate is None:
            return None
        return HourlyCharge(cid, description or "Productive hours", rate)
    if ctype is ChargeType.FTE:
        return _fte(r, m, path, cid, description)
    return _usage(r, m, path, cid, description)


def _fte(r: _Reader, m: LineDict, path: str, cid: str | None, description: str | None) -> FteCharge | None:
    rate = r.number(m, "rate", path)
    minimum = r.number(m, "minimum_fte", path, required=False)
    hours = r.number(m, "hours_per_fte", path, required=False, strictly_positive=True)
    seq = r.sequence(m, "headcount", path)
    steps: list[HeadcountStep] = []
    if seq is not None:
        if not seq:
            r.problem("empty", "needs at least one step", seq, _join(path, "headcount"))
        hpath = _join(path, "headcount")
        for line, spath, item in _items(seq, hpath):
            if not isinstance(item, LineDict):
                r.problem("type", "each step is {from: date, fte: n}", line, spath)
                continue
            r.unknown_keys(item, {"from", "fte"}, spath)
            start = r.day(item, "from", spath)
            fte = r.number(item, "fte", spath)
            if start is None or fte is None:
                continue
            if steps and start <= steps[-1].start:
                r.problem(
                    "order",
                    f"headcount steps must be in increasing date order: {start} follows {steps[-1].start}",
                    item,
                    _join(spath, "from"),
                    "from",
                )
            steps.append(HeadcountStep(start, fte))
    if cid is None or rate is None or seq is None:
        return None
    return FteCharge(
        cid,
        description or "Dedicated agents (FTE)",
        rate,
        tuple(steps),
        minimum,
        hours if hours is not None else DEFAULT_HOURS_PER_FTE,
    )


def _usage(r: _Reader, m: LineDict, path: str, cid: str | None, description: str | None) -> UsageCharge | None:
    metric = r.choice(m, "metric", path, UsageMetric, [u.value for u in UsageMetric], what="metric")
    flt = _filter(r, m, path)
    pricing = _pricing(r, m, path)
    included = r.number(m, "included", path, required=False)
    minimum = r.number(m, "minimum_amount", path, required=False)
    maximum = r.number(m, "maximum_amount", path, required=False)
    if minimum is not None and maximum is not None and maximum < minimum:
        r.problem(
            "range",
            f"maximum_amount {maximum} is below minimum_amount {minimum}",
            m,
            _join(path, "maximum_amount"),
            "maximum_amount",
        )
    if cid is None or metric is None or pricing is None:
        return None
    default = {
        UsageMetric.RESOLUTIONS: "Resolutions",
        UsageMetric.CONTACTS: "Contacts",
        UsageMetric.HANDLED_MINUTES: "Handled minutes",
    }[metric]
    if flt.describe():
        default = f"{default} ({flt.describe()})"
    return UsageCharge(
        cid,
        description or default,
        metric,
        pricing,
        flt,
        included if included is not None else Decimal(0),
        minimum,
        maximum,
    )


def _pricing(r: _Reader, m: LineDict, path: str) -> Pricing | None:
    p = r.mapping(m, "pricing", path)
    if p is None:
        return None
    ppath = _join(path, "pricing")
    model = r.choice(p, "model", ppath, PricingModel, [x.value for x in PricingModel], what="pricing model")
    if model is None:
        return None
    if model is PricingModel.FLAT:
        r.unknown_keys(p, {"model", "unit_price"}, ppath)
        price = r.number(p, "unit_price", ppath)
        return Pricing(model, unit_price=price) if price is not None else None
    if model is PricingModel.PACKAGE:
        r.unknown_keys(p, {"model", "package_size", "package_price"}, ppath)
        size = r.number(p, "package_size", ppath, strictly_positive=True)
        price = r.number(p, "package_price", ppath)
        if size is None or price is None:
            return None
        return Pricing(model, package_size=size, package_price=price)
    r.unknown_keys(p, {"model", "tiers"}, ppath)
    seq = r.sequence(p, "tiers", ppath)
    if seq is None:
        return None
    tiers: list[Tier] = []
    tpath = _join(ppath, "tiers")
    ok = True
    for i, (line, spath, item) in enumerate(_items(seq, tpath)):
        if not isinstance(item, LineDict):
            r.problem("type", "each tier is {up_to: n, unit_price: p}", line, spath)
            ok = False
            continue
        r.unknown_keys(item, {"up_to", "unit_price"}, spath)
        price = r.number(item, "unit_price", spath)
        last = i == len(seq) - 1
        up_to = r.number(item, "up_to", spath, required=False, strictly_positive=True)
        if last and "up_to" in item and item["up_to"] is not None:
            r.problem(
                "open_tier",
                "the last tier has no up_to: it takes every unit above the previous one",
                item,
                _join(spath, "up_to"),
                "up_to",
            )
            ok = False
        elif not last and up_to is None:
            if "up_to" not in item or item["up_to"] is None:
                r.problem("missing", "is required on every tier but the last", item, _join(spath, "up_to"))
            ok = False
        if up_to is not None and tiers and tiers[-1].up_to is not None and up_to <= tiers[-1].up_to:
            r.problem(
                "tier_order",
                f"tiers must be strictly increasing: up_to {up_to} follows {tiers[-1].up_to}",
                item,
                _join(spath, "up_to"),
                "up_to",
            )
            ok = False
        if price is None:
            ok = False
            continue
        tiers.append(Tier(None if last else up_to, price))
    if not seq:
        r.problem("empty", "needs at least one tier", seq, tpath)
        return None
    return Pricing(model, tiers=tuple(tiers)) if ok else None


_LEVEL_KEYS = {
    "id",
    "metric",
    "channels",
    "handled_by",
    "threshold_seconds",
    "formula",
    "target",
    "allocation_percent",
    "minimum_sample",
    "description",
}


def _service_levels(r: _Reader, doc: LineDict) -> ServiceLevels | None:
    m = r.mapping(doc, "service_levels", "", required=False)
    if m is None:
        return None
    path = "service_levels"
    r.unknown_keys(
        m, {"at_risk_percent", "earnback_months", "excuse_above_forecast_percent", "forecast", "levels"}, path
    )
    at_risk = r.number(m, "at_risk_percent", path)
    if at_risk is not None and at_risk > 100:
        r.problem(
            "range",
            f"at_risk_percent is at most 100, got {at_risk}",
            m,
            _join(path, "at_risk_percent"),
            "at_risk_percent",
        )
    earnback = r.integer(m, "earnback_months", path, required=False, minimum=1)
    excuse = r.number(m, "excuse_above_forecast_percent", path, required=False, strictly_positive=True)
    forecast: list[tuple[Period, int]] = []
    fmap = r.mapping(m, "forecast", path, required=False)
    if fmap is not None:
        for key in fmap:
            fpath = _join(_join(path, "forecast"), key)
            try:
                period = Period.parse(str(key))
            except ValueError:
                r.problem("period", f"forecast keys are periods YYYY-MM, got {key!r}", fmap, fpath, key)
                continue
            value = r.integer(fmap, key, _join(path, "forecast"))
            if value is not None:
                forecast.append((period, value))
    if excuse is not None and fmap is None:
        r.problem("missing", "excuse_above_forecast_percent needs a forecast", m, _join(path, "forecast"))
    seq = r.sequence(m, "levels", path)
    levels: list[ServiceLevel] = []
    seen: set[str] = set()
    if seq is not None:
        for line, lpath, item in _items(seq, _join(path, "levels")):
            if not isinstance(item, LineDict):
                r.problem("type", "each level is a mapping", line, lpath)
                continue
            level = _level(r, item, lpath)
            if level is not None:
                if level.id in seen:
                    r.problem("duplicate_id", f"level id {level.id!r} is used twice", item, _join(lpath, "id"), "id")
                seen.add(level.id)
                levels.append(level)
    if at_risk is None or seq is None:
        return None
    return ServiceLevels(at_risk, tuple(levels), earnback, excuse, tuple(sorted(forecast)))


def _level(r: _Reader, m: LineDict, path: str) -> ServiceLevel | None:
    r.unknown_keys(m, _LEVEL_KEYS, path)
    lid = r.text(m, "id", path)
    metric = r.choice(m, "metric", path, KpiMetric, [k.value for k in KpiMetric], what="metric")
    target = r.number(m, "target", path, minimum=Decimal(-100))
    allocation = r.number(m, "allocation_percent", path)
    threshold = r.integer(m, "threshold_seconds", path, required=False)
    formula = r.choice(
        m, "formula", path, ServiceLevelFormula, [f.value for f in ServiceLevelFormula], required=False, what="formula"
    )
    minimum_sample = r.integer(m, "minimum_sample", path, required=False)
    description = r.text(m, "description", path, required=False) or ""
    flt = _filter(r, m, path, key="")
    if metric is not KpiMetric.SERVICE_LEVEL and ("threshold_seconds" in m or "formula" in m):
        r.problem("field", "threshold_seconds and formula apply to the service_level metric only", m, path)
    if lid is None or metric is None or target is None or allocation is None:
        return None
    return ServiceLevel(
        id=lid,
        metric=metric,
        target=target,
        allocation_percent=allocation,
        filter=flt,
        threshold_seconds=threshold if threshold is not None else DEFAULT_THRESHOLD_SECONDS,
        formula=formula or ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS,
        minimum_sample=minimum_sample,
        description=description,
    )


def load_terms_text(text: str, source: str) -> tuple[ContractTerms | None, list[Problem]]:
    """Read and validate one contract file's text."""
    document, problems = read_document(text, source)
    if document is None:
        return None, problems
    return parse_terms(document, source)
