"""KPIs as people read them: each KPI code's name and unit, the words for channels and
handlers, and a filter ("voice", "AI") as the phrase shown next to a measured value.

The codes are the keys of ``kpi_report`` (``billing.measurement.kpis``) and the metrics of
service levels; they stay codes in data and JSON. A template calls ``metric_name``,
``measured`` and ``filter_phrase`` through the ``Formatter`` (``fmt.metric``, ``fmt.measure``,
``fmt.scope``), so a page never shows ``asa_seconds``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from billing.presentation.i18n import N_

#: Units: a share of 100 (``%``), seconds, minutes, hours, a count, or points (NPS, QA).
PERCENT, SECONDS, MINUTES, HOURS, COUNT, POINTS = "percent", "seconds", "minutes", "hours", "count", "points"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    #: True when a higher value is better (a target is "at least"); False: "at most".
    higher_is_better: bool = True


METRICS: dict[str, Metric] = {
    "offered": Metric(N_("Contacts offered"), COUNT),
    "answered": Metric(N_("Contacts answered"), COUNT),
    "abandoned": Metric(N_("Contacts abandoned"), COUNT, False),
    "service_level": Metric(N_("Service level"), PERCENT),
    "asa_seconds": Metric(N_("Average speed of answer"), SECONDS, False),
    "aht_seconds": Metric(N_("Average handle time"), SECONDS, False),
    "abandonment_rate": Metric(N_("Abandonment rate"), PERCENT, False),
    "resolutions": Metric(N_("Resolutions"), COUNT),
    "contacts": Metric(N_("Contacts handled"), COUNT),
    "handled_minutes": Metric(N_("Handled minutes"), MINUTES),
    "fcr_rate": Metric(N_("First-contact resolution"), PERCENT),
    "csat": Metric(N_("Customer satisfaction (CSAT)"), PERCENT),
    "nps": Metric(N_("Net promoter score (NPS)"), POINTS),
    "qa_score": Metric(N_("Quality score"), POINTS),
    "productive_hours": Metric(N_("Productive hours"), HOURS),
    "surveys_csat": Metric(N_("CSAT surveys"), COUNT),
    "surveys_nps": Metric(N_("NPS surveys"), COUNT),
    "qa_scored": Metric(N_("Quality-scored contacts"), COUNT),
}

#: The unit's symbol after a value (``%`` is babel's percent format instead).
UNIT_SYMBOLS = {SECONDS: N_("s"), MINUTES: N_("min"), HOURS: N_("h")}
#: A unit as words, for a chart's axis.
UNIT_NAMES = {
    PERCENT: N_("percent"),
    SECONDS: N_("seconds"),
    MINUTES: N_("minutes"),
    HOURS: N_("hours"),
    COUNT: N_("contacts"),
    POINTS: N_("points"),
}

#: Channels the contracts use; any other channel is shown as it is written in the contract.
CHANNELS = {
    "voice": N_("voice"),
    "email": N_("e-mail"),
    "chat": N_("chat"),
    "messaging": N_("messaging"),
    "whatsapp": N_("WhatsApp"),
    "sms": N_("SMS"),
    "social": N_("social media"),
    "web": N_("web"),
}
HANDLERS = {"human": N_("agents"), "ai": N_("AI")}


def metric_of(code: str) -> Metric | None:
    return METRICS.get(code)


def parse_filter(text: str | None) -> tuple[list[str], list[str]]:
    """The channels and handlers of a stored filter description (``voice/chat, ai``, as
    ``Filter.describe`` writes it): handlers are the known handler words."""
    channels: list[str] = []
    handlers: list[str] = []
    for part in (text or "").split(","):
        names = [n.strip() for n in part.split("/") if n.strip()]
        if names and all(n in HANDLERS for n in names):
            handlers += names
        else:
            channels += names
    return channels, handlers


def filter_words(channels: Iterable[str], handlers: Iterable[str]) -> tuple[list[str], list[str]]:
    """The message ids (or the raw names, for channels we have no word for) of a filter."""
    return [CHANNELS.get(c, c) for c in channels], [HANDLERS.get(h, h) for h in handlers]
