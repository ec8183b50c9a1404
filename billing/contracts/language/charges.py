"""The ``charges`` section: fixed, FTE, hourly and usage charges, usage filters and pricing
models (flat, graduated, volume, package)."""

from __future__ import annotations

from decimal import Decimal

from billing.contracts.language.reader import Reader, items, join
from billing.contracts.language.yaml_source import LineDict
from billing.contracts.terms import (
    DEFAULT_HOURS_PER_FTE,
    Charge,
    ChargeType,
    Filter,
    FixedCharge,
    FteCharge,
    HandledBy,
    HeadcountStep,
    HourlyCharge,
    Pricing,
    PricingModel,
    Tier,
    UsageCharge,
    UsageMetric,
)
from billing.core import limits


def filter_of(r: Reader, m: LineDict, path: str, key: str = "filter") -> Filter:
    """A charge's ``filter: {channels, handled_by}``, or a level's inline ``channels``/``handled_by``."""
    source = m if key == "" else r.mapping(m, key, path, required=False)
    if source is None:
        return Filter()
    fpath = path if key == "" else join(path, key)
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
                    join(fpath, "handled_by"),
                    "handled_by",
                )
    return Filter(channels, handled_by)


def _string_list(r: Reader, m: LineDict, key: str, path: str) -> tuple[str, ...] | None:
    value = m.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        r.problem("type", "must be a non-empty list of names", m, join(path, key), key)
        return None
    names = tuple(v.strip() for v in value)
    if key == "channels":
        for name in names:
            reason = limits.CHANNEL.problem(name)
            if reason is not None:
                r.problem("invalid_text", reason, m, join(path, key), key)
                return None
    return names


_CHARGE_KEYS = {
    ChargeType.FIXED: {"amount"},
    ChargeType.FTE: {"rate", "headcount", "minimum_fte", "hours_per_fte"},
    ChargeType.HOURLY: {"rate"},
    ChargeType.USAGE: {"metric", "filter", "pricing", "included", "minimum_amount", "maximum_amount"},
}


def charges_of(r: Reader, doc: LineDict) -> tuple[Charge, ...] | None:
    seq = r.sequence(doc, "charges", "")
    if seq is None:
        return None
    if not seq:
        r.problem("empty", "a contract has at least one charge", seq, "charges")
        return None
    out: list[Charge] = []
    seen: dict[str, int] = {}
    for line, path, item in items(seq, "charges"):
        if not isinstance(item, LineDict):
            r.problem("type", "each charge is a mapping", line, path)
            continue
        charge = _charge(r, item, path)
        cid = item.get("id")
        if cid is not None and not isinstance(cid, dict | list):
            cid = str(cid).strip()
            if cid in seen:
                r.problem("duplicate_id", f"charge id {cid!r} is used twice", item, join(path, "id"), "id")
            seen[cid] = line
        if charge is not None:
            out.append(charge)
    return tuple(out)


def _charge(r: Reader, m: LineDict, path: str) -> Charge | None:
    cid = r.text(m, "id", path, domain=limits.CHARGE_ID)
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


def _fte(r: Reader, m: LineDict, path: str, cid: str | None, description: str | None) -> FteCharge | None:
    rate = r.number(m, "rate", path)
    minimum = r.number(m, "minimum_fte", path, required=False, maximum=limits.MAX_FTE)
    hours = r.number(m, "hours_per_fte", path, required=False, strictly_positive=True, maximum=Decimal(744))
    seq = r.sequence(m, "headcount", path)
    steps: list[HeadcountStep] = []
    if seq is not None:
        if not seq:
            r.problem("empty", "needs at least one step", seq, join(path, "headcount"))
        hpath = join(path, "headcount")
        for line, spath, item in items(seq, hpath):
            if not isinstance(item, LineDict):
                r.problem("type", "each step is {from: date, fte: n}", line, spath)
                continue
            r.unknown_keys(item, {"from", "fte"}, spath)
            start = r.day(item, "from", spath)
            fte = r.number(item, "fte", spath, maximum=limits.MAX_FTE)
            if start is None or fte is None:
                continue
            if steps and start <= steps[-1].start:
                r.problem(
                    "order",
                    f"headcount steps must be in increasing date order: {start} follows {steps[-1].start}",
                    item,
                    join(spath, "from"),
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


def _usage(r: Reader, m: LineDict, path: str, cid: str | None, description: str | None) -> UsageCharge | None:
    metric = r.choice(m, "metric", path, UsageMetric, [u.value for u in UsageMetric], what="metric")
    flt = filter_of(r, m, path)
    pricing = _pricing(r, m, path)
    included = r.number(m, "included", path, required=False, maximum=limits.MAX_QUANTITY)
    minimum = r.number(m, "minimum_amount", path, required=False)
    maximum = r.number(m, "maximum_amount", path, required=False)
    if minimum is not None and maximum is not None and maximum < minimum:
        r.problem(
            "range",
            f"maximum_amount {maximum} is below minimum_amount {minimum}",
            m,
            join(path, "maximum_amount"),
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


def _pricing(r: Reader, m: LineDict, path: str) -> Pricing | None:
    p = r.mapping(m, "pricing", path)
    if p is None:
        return None
    ppath = join(path, "pricing")
    model = r.choice(p, "model", ppath, PricingModel, [x.value for x in PricingModel], what="pricing model")
    if model is None:
        return None
    if model is PricingModel.FLAT:
        r.unknown_keys(p, {"model", "unit_price"}, ppath)
        price = r.number(p, "unit_price", ppath)
        return Pricing(model, unit_price=price) if price is not None else None
    if model is PricingModel.PACKAGE:
        r.unknown_keys(p, {"model", "package_size", "package_price"}, ppath)
        size = r.number(p, "package_size", ppath, strictly_positive=True, maximum=limits.MAX_QUANTITY)
        price = r.number(p, "package_price", ppath)
        if size is None or price is None:
            return None
        return Pricing(model, package_size=size, package_price=price)
    r.unknown_keys(p, {"model", "tiers"}, ppath)
    seq = r.sequence(p, "tiers", ppath)
    if seq is None:
        return None
    tiers: list[Tier] = []
    tpath = join(ppath, "tiers")
    ok = True
    for i, (line, spath, item) in enumerate(items(seq, tpath)):
        if not isinstance(item, LineDict):
            r.problem("type", "each tier is {up_to: n, unit_price: p}", line, spath)
            ok = False
            continue
        r.unknown_keys(item, {"up_to", "unit_price"}, spath)
        price = r.number(item, "unit_price", spath)
        last = i == len(seq) - 1
        up_to = r.number(item, "up_to", spath, required=False, strictly_positive=True, maximum=limits.MAX_QUANTITY)
        if last and "up_to" in item and item["up_to"] is not None:
            r.problem(
                "open_tier",
                "the last tier has no up_to: it takes every unit above the previous one",
                item,
                join(spath, "up_to"),
                "up_to",
            )
            ok = False
        elif not last and up_to is None:
            if "up_to" not in item or item["up_to"] is None:
                r.problem("missing", "is required on every tier but the last", item, join(spath, "up_to"))
            ok = False
        if up_to is not None and tiers and tiers[-1].up_to is not None and up_to <= tiers[-1].up_to:
            r.problem(
                "tier_order",
                f"tiers must be strictly increasing: up_to {up_to} follows {tiers[-1].up_to}",
                item,
                join(spath, "up_to"),
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
