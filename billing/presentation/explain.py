"""How each line was calculated, as sentences built from the ``details`` the rating engine
stored with it ("40 FTE × S/ 9,500.00 for 31 of 31 days"), in the reader's language.

One explainer per line type (``billing.rating.lines.LineType``) and one for the lines of
notes; ``explain(line, currency, fmt)`` picks it. ``title(line, fmt)`` is the line's name: the
contract's own description, or (for the names the engine writes itself, in English, such as
"Service credit: ...") the same name in the reader's language. Pure: nothing is recomputed;
a detail that is missing is left out of the sentence, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from billing.presentation.formatting import Formatter
from billing.presentation.i18n import N_


class Line(Protocol):
    type: str
    charge: str
    description: str
    details: dict[str, Any]


#: The names the engine gives charges without a description (``rating.engine._default_description``).
DEFAULT_NAMES = {
    "Fixed fee": N_("Fixed fee"),
    "Dedicated agents (FTE)": N_("Dedicated agents (FTE)"),
    "Productive hours": N_("Productive hours"),
}
#: A usage charge's default name: its metric and, in brackets, its filter.
USAGE_DEFAULT = re.compile(r"(Resolutions|Contacts|Handled minutes)(?: \((.+)\))?")
USAGE_METRICS = ("resolutions", "contacts", "handled_minutes")
#: Notes correcting an invoice as a whole: "Credit: reason" / "Debit: reason" (``billing invoices credit``).
NOTE_PREFIXES = {"Credit: ": N_("Credit: %(reason)s"), "Debit: ": N_("Debit: %(reason)s")}


def _d(value: Any) -> Decimal | None:
    try:
        return None if value is None or value == "" else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def title(line: Line, fmt: Formatter) -> str:
    """The line's name in the reader's language (see the module docstring)."""
    text, details = line.description or "", line.details or {}
    if line.type == "service_credit" and text.startswith("Service credit: "):
        return fmt._("Service credit: %(level)s") % {"level": details.get("level", line.charge)}
    if line.type == "earnback" and text.startswith("Earnback: "):
        month = details.get("credit_period")
        return fmt._("Earnback of the %(month)s credit: %(level)s") % {
            "month": fmt.month(month) if month else "",
            "level": details.get("level", line.charge),
        }
    if line.type == "minimum_true_up" and text.startswith("Minimum true-up: "):
        rest = text.removeprefix("Minimum true-up: ")
        return fmt._("Minimum true-up: %(charge)s") % {"charge": _named(rest, fmt)}
    for prefix, message in NOTE_PREFIXES.items():
        if text.startswith(prefix) and "corrects" in details:
            return fmt._(message) % {"reason": text.removeprefix(prefix)}
    return _named(text, fmt)


def _named(text: str, fmt: Formatter) -> str:
    """A default name in the reader's words; a usage charge's default is its metric and
    filter (``Resolutions (ai)``, as ``rating.engine._default_description`` writes it)."""
    if text in DEFAULT_NAMES:
        return fmt._(DEFAULT_NAMES[text])
    found = USAGE_DEFAULT.fullmatch(text)
    if found and found.group(1).lower().replace(" ", "_") in USAGE_METRICS:
        name = fmt.metric(found.group(1).lower().replace(" ", "_"))
        return f"{name} ({fmt.scope(described=found.group(2))})" if found.group(2) else name
    return text


def explain(line: Line, currency: str, fmt: Formatter) -> str:
    """One or two sentences saying how the line's amount was reached."""
    details = line.details or {}
    if "corrects" in details:
        return _note(details, fmt)
    explainer = EXPLAINERS.get(line.type)
    return explainer(details, currency, fmt) if explainer else ""


def _fixed(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    values = {
        "amount": fmt.money(d.get("amount"), currency),
        "days": d.get("days_covered"),
        "of": d.get("days_in_month"),
    }
    if d.get("prorated"):
        return fmt._("Monthly fee of %(amount)s for %(days)s of %(of)s days.") % values
    return fmt._("Monthly fee of %(amount)s for the whole month (%(of)s days).") % values


def _fte(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    rate, month_days = fmt.money(d.get("rate"), currency), d.get("days_in_month")
    parts = []
    for step in d.get("steps") or []:
        text = fmt._("%(fte)s FTE × %(rate)s for %(days)s of %(of)s days") % {
            "fte": fmt.number(step.get("fte")),
            "rate": rate,
            "days": step.get("days"),
            "of": month_days,
        }
        contracted = _d(step.get("contracted_fte"))
        if contracted is not None and contracted != _d(step.get("fte")):
            text += " " + fmt._("(%(contracted)s contracted, raised to the minimum of %(minimum)s)") % {
                "contracted": fmt.number(contracted),
                "minimum": fmt.number(d.get("minimum_fte")),
            }
        parts.append(text)
    sentence = "; ".join(parts) + "."
    if len(parts) > 1:
        sentence += " " + fmt._("%(fte_days)s FTE-days in all, %(average)s FTE on average.") % {
            "fte_days": fmt.number(d.get("fte_days")),
            "average": fmt.number(d.get("average_fte")),
        }
    return sentence


def _hourly(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    return fmt._("%(hours)s productive hours × %(rate)s.") % {
        "hours": fmt.number(d.get("productive_hours")),
        "rate": fmt.money(d.get("rate"), currency),
    }


def _usage(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    metric = str(d.get("metric", ""))
    sentences = [
        fmt._("%(measured)s %(metric)s measured (%(scope)s).")
        % {"measured": fmt.number(d.get("measured")), "metric": fmt.metric(metric).lower(), "scope": _scope(d, fmt)}
    ]
    if _d(d.get("included")):
        sentences.append(
            fmt._("%(included)s included in the price, %(billable)s billable.")
            % {"included": fmt.number(d.get("included")), "billable": fmt.number(d.get("billable"))}
        )
    sentences.append(_pricing(d, currency, fmt))
    if d.get("maximum_amount") is not None:
        sentences.append(
            fmt._("Capped at %(maximum)s (it came to %(amount)s).")
            % {
                "maximum": fmt.money(d.get("maximum_amount"), currency),
                "amount": fmt.money(d.get("capped_from"), currency),
            }
        )
    if d.get("minimum_amount") is not None:
        sentences.append(
            fmt._("Minimum per month: %(minimum)s.") % {"minimum": fmt.money(d.get("minimum_amount"), currency)}
        )
    return " ".join(s for s in sentences if s)


def _scope(d: Mapping[str, Any], fmt: Formatter) -> str:
    return fmt.scope(described=d.get("filter")) if d.get("filter") else fmt._("all channels")


def _pricing(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    model = d.get("model")
    if model == "flat":
        return fmt._("%(units)s × %(price)s.") % {
            "units": fmt.number(d.get("units")),
            "price": _price(d.get("unit_price"), currency, fmt),
        }
    if model == "package":
        return fmt._("%(packages)s packages of %(size)s at %(price)s.") % {
            "packages": fmt.number(d.get("packages")),
            "size": fmt.number(d.get("package_size")),
            "price": fmt.money(d.get("package_price"), currency),
        }
    tiers = d.get("tiers") or []
    if model == "volume" and tiers:
        return fmt._("All %(units)s at the price of their tier: %(units)s × %(price)s.") % {
            "units": fmt.number(tiers[0].get("units")),
            "price": _price(tiers[0].get("unit_price"), currency, fmt),
        }
    if model == "graduated" and tiers:
        bands = [
            fmt._("%(units)s × %(price)s")
            % {"units": fmt.number(t.get("units")), "price": _price(t.get("unit_price"), currency, fmt)}
            for t in tiers
        ]
        return fmt._("By tiers: %(bands)s.") % {"bands": " + ".join(bands)}
    return ""


def _price(value: Any, currency: str, fmt: Formatter) -> str:
    """A unit price with the currency, keeping its extra decimals (2.5 -> S/ 2.50, 0.125 -> 0.125)."""
    number = _d(value)
    if number is None:
        return ""
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return fmt.money(number, currency)
    return f"{fmt.price(number)} {currency}"


def _true_up(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    return fmt._("The minimum of %(minimum)s less the %(charged)s charged: %(shortfall)s.") % {
        "minimum": fmt.money(d.get("minimum_amount"), currency),
        "charged": fmt.money(d.get("charged"), currency),
        "shortfall": fmt.money(d.get("shortfall"), currency),
    }


def level_result(d: Mapping[str, Any], fmt: Formatter) -> str:
    """``Service level (voice): 64.40% against a target of at least 80% (1,060 contacts)``."""
    metric = str(d.get("metric", ""))
    values = {
        "metric": fmt.metric(metric),
        "scope": _scope(d, fmt),
        "value": fmt.measure(metric, d.get("value")),
        "target": fmt.measure(metric, d.get("target")),
        "sample": fmt.number(d.get("sample")),
    }
    if d.get("comparison") == "at most":
        return (
            fmt._("%(metric)s (%(scope)s): %(value)s against a target of at most %(target)s (%(sample)s measured)")
            % values
        )
    return (
        fmt._("%(metric)s (%(scope)s): %(value)s against a target of at least %(target)s (%(sample)s measured)")
        % values
    )


def _credit(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    sentences = [level_result(d, fmt) + "."]
    sentences.append(
        fmt._("Missed: %(allocation)s of the amount at risk (%(at_risk)s, %(percent)s of the charges) is %(credit)s.")
        % {
            "allocation": fmt.percent(d.get("allocation_percent"), 0),
            "at_risk": fmt.money(d.get("at_risk_amount"), currency),
            "percent": fmt.percent(d.get("at_risk_percent"), 0),
            "credit": fmt.money(d.get("credit_before_cap"), currency),
        }
    )
    if d.get("cut_by_cap") is not None:
        sentences.append(
            fmt._("Cut by %(cut)s so the credits stay within the amount at risk.")
            % {"cut": fmt.money(d.get("cut_by_cap"), currency)}
        )
    return " ".join(sentences)


def _earnback(d: Mapping[str, Any], currency: str, fmt: Formatter) -> str:
    months = [fmt.month(check["period"]) for check in d.get("met_in") or [] if check.get("period")]
    return fmt.ngettext(
        "The credit of %(credit)s taken in %(month)s comes back: the level was met in the month after (%(months)s).",
        "The credit of %(credit)s taken in %(month)s comes back: the level was met in each of the %(num)d "
        "months after (%(months)s).",
        len(months),
    ) % {
        "credit": fmt.money(d.get("credit"), currency),
        "month": fmt.month(d["credit_period"]) if d.get("credit_period") else "",
        "num": len(months),
        "months": ", ".join(months),
    }


def _note(d: Mapping[str, Any], fmt: Formatter) -> str:
    if d.get("corrects_line"):
        return fmt._("Corrects line %(line)s of %(number)s.") % {
            "line": d["corrects_line"],
            "number": d.get("corrects") or "",
        }
    return fmt._("Corrects %(number)s as a whole.") % {"number": d.get("corrects") or ""}


EXPLAINERS: dict[str, Callable[[Mapping[str, Any], str, Formatter], str]] = {
    "fixed": _fixed,
    "fte": _fte,
    "hourly": _hourly,
    "usage": _usage,
    "minimum_true_up": _true_up,
    "service_credit": _credit,
    "earnback": _earnback,
}
