"""The console's receivables (what each client owes, aged as of a day) and its pricing
comparison: alternative terms uploaded as contract files, simulated against a contract's
measured months and shown as the simulation report (``billing.simulation.report``), the
same page ``billing simulate --html`` writes. See ``console`` for sessions and CSRF."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlmodel import col, select
from starlette.datastructures import UploadFile

from billing.api.deps import ConsoleUser, EngineDep, SessionDep
from billing.api.errors import period_of
from billing.api.pages import NO_STORE, ReaderDep, field, read_form
from billing.api.routes.console import locale_of, page
from billing.core.periods import Period
from billing.core.problems import Problem, ProblemsError
from billing.invoicing.receivables import receivables as aged
from billing.storage.models import Contract

router = APIRouter(prefix="/console", include_in_schema=False)
#: An uploaded contract file larger than this is refused (contracts are a few kilobytes).
MAX_TERMS_BYTES = 200_000
AsOfQuery = Annotated[date | None, Query(alias="as_of", description="YYYY-MM-DD (default: today)")]


@router.get("/receivables", response_class=HTMLResponse)
def receivables(
    request: Request, session: SessionDep, user: ConsoleUser, who: ReaderDep, as_of: AsOfQuery = None
) -> Response:
    """What each client owes per currency, in ageing buckets, with every open document."""
    day = as_of or datetime.now(UTC).date()
    if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "as_of is out of range")
    return page(request, who, "console_receivables.html", r=aged(session, day))


@router.get("/simulate", response_class=HTMLResponse)
def simulate_form(request: Request, session: SessionDep, user: ConsoleUser, who: ReaderDep) -> Response:
    """The form: a contract, the months, and the alternative terms to compare."""
    codes = session.exec(select(Contract.code).order_by(col(Contract.code))).all()
    last = Period.of_date(datetime.now(UTC).date()).previous()
    return page(request, who, "console_simulate.html", codes=codes, first=str(last.shift(-2)), last=str(last))


@router.post("/simulate", response_class=HTMLResponse)
async def simulate(request: Request, engine: EngineDep, user: ConsoleUser, who: ReaderDep) -> Response:
    """The contract's current terms against each uploaded alternative, as the report."""
    from billing.contracts.language import load_terms_text
    from billing.simulation.report import report_html
    from billing.simulation.service import CURRENT, Alternative, simulate_contract

    form = await read_form(request, who, limit=4 * MAX_TERMS_BYTES)
    code = field(form, "contract", 64)
    first, last = period_of(field(form, "from", 7)), period_of(field(form, "to", 7))
    alternatives: list[Alternative] = []
    problems: list[Problem] = []
    names = {CURRENT}
    uploads = [u for u in form.getlist("terms") if isinstance(u, UploadFile) and u.filename]
    if not uploads:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "upload at least one contract file")
    for upload in uploads:
        data = await upload.read(MAX_TERMS_BYTES + 1)
        source = PurePath(upload.filename or "terms.yaml").name[:100]
        try:
            if len(data) > MAX_TERMS_BYTES:
                raise ValueError(f"larger than {MAX_TERMS_BYTES} bytes")
            text = data.decode("utf-8")
        except (UnicodeDecodeError, ValueError) as exc:
            problems.append(Problem("file", f"cannot read the file: {exc}", source))
            continue
        terms, found = load_terms_text(text, source)
        problems += found
        if terms is None:
            continue
        name = PurePath(source).stem or "terms"
        while name in names:
            name += "'"
        names.add(name)
        alternatives.append(Alternative(name, source, terms))
    try:
        if problems:
            raise ProblemsError(problems)
        result = simulate_contract(engine, code, alternatives, first, last, now=datetime.now(UTC))
    except ProblemsError as exc:
        shown = "\n".join(str(p) for p in exc.problems)
        return page(request, who, "console_refused.html", 422, detail=shown, back="/console/simulate")
    except (LookupError, ValueError) as exc:
        return page(request, who, "console_refused.html", 422, detail=str(exc), back="/console/simulate")
    generated = datetime.now(UTC).date().isoformat()
    return HTMLResponse(report_html(result, locale_of(who), generated), headers=NO_STORE)
