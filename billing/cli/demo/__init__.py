"""``billing demo``: the whole month-end job on the embedded SQLite default.

It tells one story with the example clients, issued by the companies of ``contracts/entities``:
three months of generated outcomes are imported and measured; a month that has not ended, and
one in its grace days, are refused by close with the date they become closable; each month is
closed once closable and its invoices issued (both parties, the amount in words, Banco Andino's
detraccion); a goodwill credit note corrects one invoice; late October data arrives
(interactions a vendor sent late, and customers coming back after their resolution was billed);
reconciliation explains the difference and drafts the note that settles it, which is issued;
a month of payments leaves receivables to age; every document becomes a Factur-X e-invoice; an
account manager simulates per-resolution pricing; and every client gets a statement in their
language, as JSON, HTML and PDF.
"""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import console, state
from billing.cli.demo.after import late_data, reconcile, simulate, statements
from billing.cli.demo.money import einvoices, payments, receivables
from billing.cli.demo.month import (
    close_and_issue,
    goodwill_credit,
    import_outcomes,
    load_contracts,
    not_closable_yet,
    show_kpis,
)
from billing.core.periods import Period

REPO = Path(__file__).resolve().parents[3]


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        out: Path = typer.Option(Path("demo-output"), "--out", help="Where statements and reports are written."),
        contracts_dir: Path = typer.Option(REPO / "contracts", "--contracts", help="Contract files to load."),
        seed: int = typer.Option(7, "--seed", help="Seed of the generated outcomes."),
    ) -> None:
        """The month-end job on the example clients, end to end, on a fresh SQLite database.

        Import, KPIs, close, issue, credit, reconcile late data, simulate, and write
        statements into OUT. With --db, that database is used instead.
        """
        run_demo(out, contracts_dir, seed)


def run_demo(out: Path, contracts_dir: Path, seed: int) -> None:
    from billing.measurement.pseudonyms import ensure_key_file
    from billing.storage.db import database_url, get_engine, migrate
    from fixtures.scenarios import DEMO_MONTHS, demo_specs

    out.mkdir(parents=True, exist_ok=True)
    url = database_url(state.db_url) if state.db_url else _fresh_sqlite(out / "billing-demo.db")
    ensure_key_file(url)
    migrate(url)
    engine = get_engine(url)
    months = [Period.parse(m) for m in DEMO_MONTHS]
    last = months[-1]
    console.rule("1. Issuers and contracts")
    load_contracts(engine, sorted(contracts_dir.glob("*.yaml")), sorted((contracts_dir / "entities").glob("*.yaml")))

    console.rule("2. Outcomes")
    specs = demo_specs()
    import_outcomes(engine, specs, seed, out)

    console.rule(f"3. KPIs measured in the database ({last})")
    show_kpis(engine, [spec.contract for spec in specs], last)

    console.rule("4. Close and issue each month, once it is closable")
    not_closable_yet(engine, last)
    issued = {}
    for period in months:
        issued[period] = close_and_issue(engine, period)

    console.rule("5. A goodwill credit note")
    goodwill_credit(engine, last)

    console.rule(f"6. Late data for {last}, reconciliation, and the note that settles it")
    late_data(engine, last, out)
    reconcile(engine, last)

    console.rule("7. A month of payments, and what is still owed")
    payments(engine, months)
    story_end = last.next().last_day
    receivables(engine, story_end)

    console.rule("8. E-invoices")
    einvoices(engine, out)

    console.rule("9. Pricing simulation for an account manager")
    simulate(engine, contracts_dir, months, out)

    console.rule("10. Client statements")
    statements(engine, months, out, story_end)
    console.print(f"\nDone. Database: {url}\nStatements and reports: {out.resolve()}", highlight=False)


def _fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm", ".pseudonym.key"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"
