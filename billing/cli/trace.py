"""``billing trace DOCUMENT --line N [--json|--csv F]``: the contacts behind a document's line."""

from __future__ import annotations

from pathlib import Path

import typer

from billing.cli.common import console, fail, print_json, state

CSV_COLUMNS = (
    "interaction_id",
    "started_at",
    "channel",
    "handled_by",
    "customer",
    "counted",
    "reason",
    "next_interaction_id",
    "next_started_at",
    "value",
    "in_numerator",
)


def register(app: typer.Typer) -> None:
    @app.command("trace")
    def trace(
        document: str = typer.Argument(..., help="Document id or number (F001-00000007)"),
        line: int = typer.Option(..., "--line", min=1, help="The line's position on the document (1 = first)"),
        as_json: bool = typer.Option(False, "--json", help="Every contact as JSON"),
        csv_path: Path | None = typer.Option(None, "--csv", help="Write every contact to this CSV file"),
    ) -> None:
        """The interactions behind a line, as of the document's data snapshot: each contact
        counted or not, and why not (abandoned, not_resolved, escalated, repeat_within_window
        with the contact that followed, filtered_out); a service credit's sample with verdicts."""
        from billing.invoicing.tracing import line_trace, page, summary
        from billing.storage.db import reading

        with reading(state.engine(), snapshot=True) as session:
            found = line_trace(session, document, line)
            head = summary(session, found)
            if csv_path is not None:
                written = write_csv(csv_path, _pages(session, found, page))
                console.print(f"{written} contact(s) written to {csv_path}", highlight=False)
                _say(head)
                return
            if as_json:
                print_json({**head, "data": [_plain(c) for rows in _pages(session, found, page) for c in rows]})
                return
            rows, _next = page(session, found, None, 50)
        _say(head)
        _table(rows)
        if head["contacts"] > len(rows):
            console.print(
                f"... the first {len(rows)} of {head['contacts']}: --json or --csv F gives all", highlight=False
            )


def _pages(session, found, page):  # type: ignore[no-untyped-def]
    after = None
    while True:
        rows, cursor = page(session, found, after, 2000)
        yield rows
        if cursor is None:
            return
        from billing.measurement.trace import parse_cursor

        after = parse_cursor(cursor)


def _plain(contact: dict) -> dict:  # type: ignore[type-arg]
    return {k: v for k, v in contact.items() if k != "cursor"}


def write_csv(path: Path, pages) -> int:  # type: ignore[no-untyped-def]
    """Every contact as a CSV row (``CSV_COLUMNS``); returns how many."""
    import csv

    count = 0
    try:
        handle = path.open("w", newline="", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}", 2)
    with handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for rows in pages:
            for c in rows:
                following = c.get("next_contact") or {}
                writer.writerow(
                    [
                        c["interaction_id"],
                        c["started_at"],
                        c["channel"],
                        c["handled_by"],
                        c["customer"] or "",
                        "true" if c["counted"] else "false",
                        c["reason"] or "",
                        following.get("interaction_id", ""),
                        following.get("started_at", ""),
                        c.get("value") or "",
                        "" if "in_numerator" not in c else ("true" if c["in_numerator"] else "false"),
                    ]
                )
                count += 1
    return count


def _say(head: dict) -> None:  # type: ignore[type-arg]
    what = (
        f"{head['document']} line {head['line']} ({head['type']} {head['charge']}, {head['metric']}) {head['period']}"
    )
    if "quantity" in head:
        figures = f"quantity {head['quantity']}, counted from contacts {head['measured']}"
    else:
        figures = f"measured {head['measured']} over a sample of {head['sample']} (line: {head['line_value']})"
    verdict = "agrees" if head["agrees"] else "DOES NOT AGREE"
    console.print(
        f"{what}: {head['contacts']} contact(s), {head['counted']} counted; {figures}: {verdict} "
        f"(data as of import batch {head['data_as_of']})",
        highlight=False,
    )


def _table(rows: list) -> None:  # type: ignore[type-arg]
    from rich.table import Table

    from billing.cli.outcomes import safe_text

    table = Table("interaction", "started (UTC)", "channel", "by", "counted", "reason", "next contact")
    for c in rows:
        following = c.get("next_contact")
        table.add_row(
            safe_text(c["interaction_id"]),
            c["started_at"],
            c["channel"],
            c["handled_by"],
            "yes" if c["counted"] else "no",
            c["reason"] or "",
            "" if not following else f"{safe_text(following['interaction_id'])} {following['started_at']}",
        )
    console.print(table)
