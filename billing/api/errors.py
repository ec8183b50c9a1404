"""Expected failures of the service layer as HTTP answers: unknown things are 404, invalid
requests 422, state conflicts (already issued, credit exceeds invoice, duplicate) 409."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError

from billing.core.periods import Period
from billing.core.problems import ProblemsError


@contextmanager
def service_errors(conflicts: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    try:
        yield
    except HTTPException:
        raise
    except conflicts as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except IntegrityError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "conflicts with stored data (duplicate or stale)") from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc).strip("'\"")) from exc
    except ProblemsError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, [problem.as_dict() for problem in exc.problems]
        ) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def period_of(text: str) -> Period:
    """A month from a request (``YYYY-MM`` within the engine's years), or a 422 naming it."""
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
