"""The Jinja2 environment (templates in ``billing/presentation/templates``) and PDF rendering
(WeasyPrint), shared by statements, documents and reports."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from billing.presentation.explain import explain, level_result, title
from billing.presentation.i18n import DEFAULT_LANGUAGE, translations


@cache
def environment(language: str = DEFAULT_LANGUAGE) -> Environment:
    """The templates with ``_``, ``gettext`` and ``ngettext`` speaking ``language`` (one
    environment per language, so concurrent renders never share installed translations)."""
    env = Environment(
        loader=PackageLoader("billing.presentation", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["plain"] = _plain
    env.filters["grouped"] = _grouped
    env.globals.update(explain=explain, line_title=title, level_result=level_result)
    return env


def _grouped(value: str | None, size: int = 4) -> str:
    """An account number in groups (``ES91 2100 0418 ...``) for reading it aloud."""
    text = (value or "").replace(" ", "")
    return " ".join(text[i : i + size] for i in range(0, len(text), size))


def _plain(value: Any) -> str:
    """A detail value as text: lists and mappings flattened, None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_plain(v) for v in value)
    return str(value)


def pdf(html: str, archival: bool = False) -> bytes:
    """The HTML as PDF; ``archival``: PDF/A-3b (what a Factur-X e-invoice is made of: fonts
    embedded, colours defined, files may be attached)."""
    from weasyprint import HTML

    options = {"pdf_variant": "pdf/a-3b"} if archival else {}
    data: bytes = HTML(string=html).write_pdf(**options)
    return data
