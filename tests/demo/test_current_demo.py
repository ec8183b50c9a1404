"""The month as it happens (issue 15, item 1), on the demo database: ``billing current
BANDINO-2026 --as-of 2026-10-16 --json`` gives figures counted here by hand from the
interactions, projected linearly (x 31 / 16); the API and the portal show the same, a client's
token sees only its own contracts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session
from typer.testing import CliRunner

from billing.access.tokens import create_token
from billing.api import create_app
from billing.cli import app
from billing.storage.db import transaction
from billing.storage.models import Contract, Interaction

LIMA = ZoneInfo("America/Lima")


def _by_hand(engine) -> dict[str, int]:
    """October 1-16 in Lima, from the interaction rows: offered, answered, AI resolutions (not
    abandoned, resolved, not escalated, no contact of the customer within 7 days after)."""
    start = datetime(2026, 10, 1, tzinfo=LIMA)
    end = datetime(2026, 10, 17, tzinfo=LIMA)
    with Session(engine) as s:
        rows = (
            s.execute(
                select(Interaction)
                .join(Contract, Contract.id == Interaction.contract_id)
                .where(Contract.code == "BANDINO-2026", Interaction.started_at >= start, Interaction.started_at < end)
            )
            .scalars()
            .all()
        )
    week = timedelta(days=7)

    def resolution(i: Interaction) -> bool:
        came_back = (
            i.customer_id is not None and i.next_contact_at is not None and i.next_contact_at - i.started_at <= week
        )
        return not i.abandoned and i.resolved and not i.escalated and not came_back

    return {
        "offered": len(rows),
        "answered": sum(1 for i in rows if not i.abandoned),
        "resolutions": sum(1 for i in rows if resolution(i)),
        "ai_resolutions": sum(1 for i in rows if resolution(i) and i.handled_by == "ai"),
    }


def _projected(count: int) -> int:
    return int((Decimal(count) * 31 / 16).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_the_month_to_date_and_projected_counted_by_hand(demo_url, demo):
    result = CliRunner().invoke(app, ["--db", demo_url, "current", "BANDINO-2026", "--as-of", "2026-10-16", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    hand = _by_hand(demo)
    assert (data["as_of"], data["days_elapsed"], data["days_in_period"]) == ("2026-10-16", 16, 31)
    for name in ("offered", "answered", "resolutions"):
        assert data["to_date"][name] == hand[name], name
    assert abs(data["projected"]["offered"] - _projected(hand["offered"])) <= 12  # one rounding per cell
    ai_line = next(line for line in data["projected_invoice"]["lines"] if line["charge"] == "ai-resolutions")
    # Rounded per (channel, handler) cell: the AI cells' projections add to within a count of each.
    assert abs(int(ai_line["quantity"]) - _projected(hand["ai_resolutions"])) <= 4
    assert data["projected"]["fcr_rate"] == data["to_date"]["fcr_rate"]  # ratios are the to-date values
    levels = {level["level"]: level for level in data["service_levels"]}
    assert levels["first-contact"]["status"] == "missed" and Decimal(levels["first-contact"]["credit"]) < 0
    assert {level["status"] for level in levels.values()} <= {"met", "at_risk", "missed", "not_assessed"}
    credits = [line for line in data["projected_invoice"]["lines"] if line["type"] == "service_credit"]
    assert [c["amount"] for c in credits] == [levels["first-contact"]["credit"]]

    weekday = CliRunner().invoke(
        app, ["--db", demo_url, "current", "BANDINO-2026", "--as-of", "2026-10-16", "--method", "weekday", "--json"]
    )
    assert weekday.exit_code == 0, weekday.output
    by_weekday = json.loads(weekday.stdout)
    assert by_weekday["to_date"] == data["to_date"]
    assert abs(by_weekday["projected"]["offered"] - data["projected"]["offered"]) < data["projected"]["offered"] * 0.1


def test_the_api_and_the_portal_give_the_month_so_far_to_its_client_only(demo_url, demo):
    with transaction(demo) as session:
        _, andino = create_token(session, "andino", client_id="banco-andino")
        _, other = create_token(session, "iberica", client_id="tienda-iberica")
    with TestClient(create_app(demo)) as http:
        answer = http.get(
            "/v1/contracts/BANDINO-2026/current?as_of=2026-10-16", headers={"Authorization": f"Bearer {andino}"}
        )
        assert answer.status_code == 200, answer.text
        cli = CliRunner().invoke(app, ["--db", demo_url, "current", "BANDINO-2026", "--as-of", "2026-10-16", "--json"])
        assert answer.json()["projected_invoice"] == json.loads(cli.stdout)["projected_invoice"]
        hidden = http.get(
            "/v1/contracts/BANDINO-2026/current?as_of=2026-10-16", headers={"Authorization": f"Bearer {other}"}
        )
        assert hidden.status_code == 404
        page = http.get(f"/portal?token={andino}&as_of=2026-10-16")
        assert page.status_code == 200
        assert 'data-current="BANDINO-2026"' in page.text and "Este mes hasta hoy" in page.text
        assert (
            "En riesgo" in page.text or "Incumplido" in page.text or "No cumplido" in page.text or "missed" in page.text
        )


def test_today_is_the_contracts_own_day(demo):
    from billing.rating.current import today_for

    with Session(demo) as session:
        assert today_for(session, "BANDINO-2026") == datetime.now(UTC).astimezone(LIMA).date()
