"""``billing kpis CONTRACT --period YYYY-MM [...] [--json]`` (the default ``show``) and
``billing kpis import-client FILE`` (the client's own figures, for reconciliation)."""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import DefaultCommandGroup, command_group, console, fail, parse_period, print_json, state
from billing.core.periods import day_of_number

#: Differences ``billing kpis check`` prints (all are counted).
SHOWN = 50


def register(app: typer.Typer) -> None:
    from billing.contracts.terms import DEFAULT_THRESHOLD_SECONDS, ServiceLevelFormula

    group = command_group(help="KPIs of a contract and period; the client's own figures.", cls=DefaultCommandGroup)
    app.add_typer(group, name="kpis")

    @group.command("show")
    def show(
        code: str = typer.Argument(..., help="Contract code"),
        period: str = typer.Option(..., "--period", help="Billing period YYYY-MM"),
        channel: list[str] = typer.Option([], "--channel", help="Only this channel (repeatable)"),
        handled_by: list[str] = typer.Option([], "--handled-by", help="human or ai (repeatable)"),
        threshold: int = typer.Option(
            DEFAULT_THRESHOLD_SECONDS, "--threshold", help="Service-level threshold, seconds"
        ),
        formula: str = typer.Option(
            ServiceLevelFormula.EXCLUDE_SHORT_ABANDONS.value,
            "--formula",
            help="exclude_short_abandons, abandons_against, abandons_for or answered_only",
        ),
        as_json: bool = typer.Option(False, "--json", help="JSON output (see docs/kpis.md)"),
        recount: bool = typer.Option(
            False, "--recount", help="Count the interactions themselves instead of reading the daily rollup"
        ),
    ) -> None:
        """Every KPI of a contract for one period, measured in the database (from the daily
        rollup the importer keeps, or from the interactions when the rollup does not hold the
        threshold asked for, or with --recount)."""
        from rich.table import Table

        from billing.contracts.store import terms_in_force
        from billing.contracts.terms import Filter, HandledBy, ServiceLevelFormula
        from billing.measurement.kpis import kpi_report
        from billing.measurement.queries import MeasureRequest, measure
        from billing.storage.db import reading

        month = parse_period(period)
        try:
            chosen = ServiceLevelFormula(formula)
        except ValueError:
            fail(f"unknown formula {formula!r}: {', '.join(f.value for f in ServiceLevelFormula)}", 2)
        for item in handled_by:
            if item not in {h.value for h in HandledBy}:
                fail(f"--handled-by is human or ai, not {item!r}", 2)
        if threshold < 0:
            fail("--threshold is a number of seconds, 0 or more", 2)
        with reading(state.engine()) as session:
            try:
                current = terms_in_force(session, code, month)
            except LookupError as exc:
                fail(str(exc).strip("'\""))
            terms = current.terms
            request = MeasureRequest(
                contract_id=current.contract_id,
                contract=code,
                period=month,
                timezone=terms.timezone,
                repeat_window_days=terms.resolution.repeat_window_days,
                exclude_escalated=terms.resolution.exclude_escalated,
                thresholds=(threshold,),
            )
            outcomes = measure(session, [request], from_rows=recount)[(current.contract_id, month)]
        flt = Filter(tuple(channel) or None, tuple(handled_by) or None)
        report = kpi_report(outcomes, flt, threshold, chosen)
        data: dict[str, object] = {"contract": code, "period": str(month)}
        if flt.channels or flt.handled_by:
            data["filter"] = {"channels": list(flt.channels or []), "handled_by": list(flt.handled_by or [])}
        data.update({"threshold_seconds": threshold, "formula": chosen.value, "data_as_of": outcomes.data_as_of})
        data["kpis"] = report
        if as_json:
            print_json(data)
            return
        title = f"{code} {month} ({terms.timezone})"
        if flt.channels or flt.handled_by:
            title += f" - {flt.describe()}"
        table = Table("KPI", "value", title=title)
        table.columns[1].justify = "right"
        for name, value in report.items():
            if name == "samples":
                continue
            shown = "-" if value is None else str(value)
            if name == "service_level":
                name = f"service_level ({threshold}s, {chosen.value})"
            table.add_row(name, shown)
        console.print(table)
        samples = report["samples"]
        console.print(f"samples: {samples}", highlight=False)

    @group.command("check")
    def check(
        codes: list[str] = typer.Argument(None, help="Contract codes (default: every contract)"),
        repair: bool = typer.Option(False, "--repair", help="Rebuild the days of contracts that differ"),
    ) -> None:
        """Recount the daily rollup of outcomes from the interactions and report every day that
        differs (exit status 1 when any does, unless --repair rebuilt them)."""
        from billing.measurement import rollup as outcome_days
        from billing.measurement.ingest.bulk import contract_ids
        from billing.storage.db import transaction

        engine = state.engine()
        with transaction(engine) as session:
            ids = contract_ids(session)
            unknown = [code for code in codes or [] if code not in ids]
            if unknown:
                fail(f"unknown contract(s): {', '.join(unknown)}")
            wanted = [ids[code] for code in codes] if codes else None
            differences = outcome_days.verify(session, wanted)
            names = {cid: code for code, cid in ids.items()}
            for d in differences[:SHOWN]:
                where = (
                    f"{names.get(d.contract_id, d.contract_id)} {day_of_number(d.local_day)} {d.channel}/{d.handled_by}"
                )
                console.print(f"{where}: {d.column} stored {d.stored}, recounted {d.recounted}", highlight=False)
            if len(differences) > SHOWN:
                console.print(f"... and {len(differences) - SHOWN} more", highlight=False)
            broken = sorted({d.contract_id for d in differences})
            if broken and repair:
                for contract_id in broken:
                    outcome_days.rebuild(session, contract_id)
                console.print(f"rebuilt the days of {len(broken)} contract(s)", highlight=False)
                return
        checked = "every contract" if not codes else ", ".join(codes)
        if broken:
            fail(f"{len(differences)} difference(s) in {len(broken)} contract(s); rebuild with --repair")
        console.print(f"daily rollup matches the interactions ({checked})", highlight=False)

    @group.command("import-client")
    def import_client(file: Path = typer.Argument(..., help="CSV: contract,period,metric,value")) -> None:
        """Store the client's own KPI figures (the latest figure per contract, period and metric wins)."""
        from billing.cli.outcomes import run_and_report
        from billing.measurement import ingest

        run_and_report(lambda: ingest.import_client_kpis(state.engine(), file))
