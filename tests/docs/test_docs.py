"""The documentation in ``docs/`` is checked against the code, so it cannot drift.

Conventions the Markdown follows (also explained to readers in docs/contract-language.md):

* Every ```` ```yaml ```` block in ``docs/*.md`` is loaded with the real contract loader. Leading
  comment lines may hold directives:

  - ``# fragment: KEY, KEY``: the block shows only these top-level keys of a contract. They
    replace the same keys of ``BASE`` below (a small valid contract) and the result is loaded.
  - ``# invalid: CODE, CODE``: the loader must refuse the block (merged, for a fragment)
    with exactly these problem codes.
  - ``# refused-after-base: CODE``: the block validates on its own, but loading it into a
    database that holds ``BASE`` is refused with exactly this code (amendment rules).
  - ``# kind: costs``, ``# kind: profile`` or ``# kind: entity``: the block is a costs file or
    a prospect's profile (docs/simulation.md), or an entity file (docs/entities.md), loaded
    with that language's loader instead (``invalid`` applies to it too).

  A block without directives is a whole contract file and must load without problems.

* A worked example is a group of blocks, each preceded by an HTML comment naming it:
  ``<!-- check: NAME file=FILE -->`` (the block is written to FILE), ``<!-- check: NAME run -->``
  (a ``sh`` block of ``billing ...`` commands, run in order on a fresh database, each of which
  must succeed) and ``<!-- check: NAME output -->`` (a ``json`` block: the output of the last
  command run before it must contain every key and value shown).

* Links: every relative link in ``docs/*.md`` and ``README.md`` names a file in the repository
  (and, for ``#anchors`` into Markdown, a heading there); no path points outside the repository.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner

from billing.cli import app
from billing.contracts.language import load_terms_text
from billing.contracts.language.entity import load_entity_text
from billing.core.problems import ProblemsError
from billing.measurement.contracts import load_contracts
from billing.simulation.costs_file import load_costs_text
from billing.simulation.profile import load_profile_text

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
DOC_FILES = sorted(DOCS.glob("*.md"))
README = REPO / "README.md"

#: The contract fragments are merged into: one line (or item) per top-level key.
BASE = {
    "contract": "contract: DOC-1",
    "client": 'client: {id: doc-client, name: "Doc Client Ltd", locale: en_US}',
    "currency": "currency: USD",
    "timezone": "timezone: America/New_York",
    "start": "start: 2026-01-01",
    "invoicing": "invoicing: {series: DOC, credit_note_series: DOC-CN}",
    "charges": 'charges:\n  - {id: platform, type: fixed, amount: "100.00"}',
}
DIRECTIVES = ("fragment", "invalid", "refused-after-base", "kind")
#: Loaders of the YAML languages other than contracts, by ``# kind:``.
LOADERS = {"costs": load_costs_text, "profile": load_profile_text, "entity": load_entity_text}

runner = CliRunner()


# -- reading the Markdown ---------------------------------------------------------------------


@dataclass
class Block:
    """A fenced code block: where it starts, its language, its text and the ``check:`` comment
    right before it (if any)."""

    path: Path
    line: int
    lang: str
    text: str
    check: str | None = None
    directives: dict[str, list[str]] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


_FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
_CHECK = re.compile(r"^<!--\s*check:\s*(.*?)\s*-->$")
_DIRECTIVE = re.compile(r"^#\s*([a-z-]+):\s*(.+?)\s*$")


def blocks_of(path: Path) -> list[Block]:
    out: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    previous = ""  # the last non-blank line outside a block
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        fence, lang = opening.group(1), opening.group(2).lower()
        body: list[str] = []
        start = i + 1
        i += 1
        while i < len(lines) and not lines[i].startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1  # the closing fence
        check = _CHECK.match(previous)
        block = Block(path, start + 1, lang, "\n".join(body) + "\n", check.group(1) if check else None)
        for text in body:
            directive = _DIRECTIVE.match(text)
            if not directive or directive.group(1) not in DIRECTIVES:
                break
            block.directives[directive.group(1)] = [v.strip() for v in directive.group(2).split(",")]
        out.append(block)
        previous = ""
    return out


ALL_BLOCKS = [block for path in DOC_FILES for block in blocks_of(path)]
YAML_BLOCKS = [block for block in ALL_BLOCKS if block.lang in ("yaml", "yml")]


def contract_text(block: Block) -> str:
    """The block as a whole contract file: itself, or its fragment set over ``BASE``."""
    keys = block.directives.get("fragment")
    if keys is None:
        return block.text
    shown = yaml.safe_load(block.text)
    assert isinstance(shown, dict), f"{block.where}: a fragment is a mapping of top-level keys"
    assert sorted(map(str, shown)) == sorted(keys), f"{block.where}: the fragment shows {sorted(shown)}, not {keys}"
    kept = [text for key, text in BASE.items() if key not in keys]
    return "\n".join(kept) + "\n" + block.text


def test_the_docs_exist_and_hold_yaml_examples():
    names = {path.name for path in DOC_FILES}
    assert {"contract-language.md", "kpis.md", "architecture.md", "operations.md"} <= names
    assert len(YAML_BLOCKS) >= 30


# -- YAML examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=[b.where for b in YAML_BLOCKS])
def test_yaml_example_loads_or_fails_as_it_says(block: Block):
    kind = block.directives.get("kind", ["contract"])[0]
    if kind == "contract":
        terms, problems = load_terms_text(contract_text(block), block.where)
    else:
        assert kind in LOADERS, f"{block.where}: unknown kind {kind!r}"
        terms, problems = LOADERS[kind](block.text, block.where)  # type: ignore[assignment]
    codes = sorted({problem.code for problem in problems})
    if "invalid" in block.directives:
        assert terms is None
        assert codes == sorted(block.directives["invalid"]), [str(p) for p in problems]
    else:
        assert problems == [], "\n".join(f"{p.code}: {p}" for p in problems)


AFTER_BASE = [block for block in YAML_BLOCKS if "refused-after-base" in block.directives]


@pytest.mark.parametrize("block", AFTER_BASE, ids=[b.where for b in AFTER_BASE])
def test_amendment_example_is_refused_after_the_base(block: Block, db: Engine, tmp_path: Path):
    base = tmp_path / "base.yaml"
    base.write_text("\n".join(BASE.values()) + "\n")
    example = tmp_path / "example.yaml"
    example.write_text(contract_text(block))
    load_contracts(db, [base])
    with pytest.raises(ProblemsError) as refused:
        load_contracts(db, [example])
    assert sorted({p.code for p in refused.value.problems}) == sorted(block.directives["refused-after-base"])


# -- worked examples ------------------------------------------------------------------------------


def examples() -> dict[str, list[tuple[str, Block]]]:
    """Every ``check:`` group, in document order: (role, block) per step."""
    groups: dict[str, list[tuple[str, Block]]] = {}
    for block in ALL_BLOCKS:
        if block.check is None:
            continue
        name, _, role = block.check.partition(" ")
        groups.setdefault(f"{block.path.name}:{name}", []).append((role.strip(), block))
    return groups


EXAMPLES = examples()


def contains(actual: Any, shown: Any, where: str = "") -> list[str]:
    """Where ``actual`` differs from what the docs show (dicts: the keys shown; lists: every item)."""
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out = []
        for key, value in shown.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing")
            else:
                out.extend(contains(actual[key], value, f"{where}.{key}"))
        return out
    if isinstance(shown, list):
        if not isinstance(actual, list) or len(actual) != len(shown):
            return [f"{where}: expected {len(shown)} items, got {actual!r}"]
        return [d for i, (a, s) in enumerate(zip(actual, shown, strict=True)) for d in contains(a, s, f"{where}[{i}]")]
    return [] if actual == shown else [f"{where}: the docs show {shown!r}, the code gives {actual!r}"]


def test_worked_examples_are_found():
    assert {"kpis.md:golden", "contract-language.md:example"} <= set(EXAMPLES)
    for name, steps in EXAMPLES.items():
        roles = [role.split("=")[0] for role, _ in steps]
        assert "run" in roles and "output" in roles, f"{name}: a worked example runs commands and shows output"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_worked_example_gives_the_figures_the_docs_show(name: str, db_url: str, tmp_path: Path):
    files: dict[str, Path] = {}
    stdout: str | None = None
    last = ""
    for role, block in EXAMPLES[name]:
        if role.startswith("file="):
            target = tmp_path / role[len("file=") :]
            target.write_text(block.text)
            files[target.name] = target
        elif role == "run":
            for line in block.text.splitlines():
                if not line.strip().startswith("billing "):
                    continue
                words = shlex.split(line, comments=True)[1:]
                args = [str(files[word]) if word in files else word for word in words]
                result = runner.invoke(app, ["--db", db_url, *args])
                assert result.exit_code == 0, f"{block.where}: `{line}` failed:\n{result.output}"
                stdout, last = result.stdout, line.strip()
        elif role == "output":
            assert stdout is not None, f"{block.where}: output shown before any command"
            differences = contains(json.loads(stdout), json.loads(block.text))
            assert differences == [], f"{block.where} (output of `{last}`):\n" + "\n".join(differences)
        else:
            pytest.fail(f"{block.where}: unknown check role {role!r}")


# -- links and paths ------------------------------------------------------------------------------

_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
_RELATIVE_PATH = re.compile(r"(?<![\w/.])((?:\.\./)+[\w.\-/]*)")


def prose(path: Path) -> str:
    """The file without its code blocks (a config example's paths are not links)."""
    return re.sub(r"^(```+|~~~+).*?^\1", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", prose(path), flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


LINKED = [*DOC_FILES, README]


@pytest.mark.parametrize("path", LINKED, ids=[p.name for p in LINKED])
def test_relative_links_point_into_the_repository(path: Path):
    text = prose(path)
    broken = []
    for target in _LINK.findall(text) + _REFERENCE.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.is_relative_to(REPO) or not resolved.exists():
            broken.append(f"{target}: no such file in the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}")
    assert broken == []


def outside_paths(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = [word for word in ("../shared", "SPEC.md", "/work/") if word in text]
    for candidate in _RELATIVE_PATH.findall(text):
        if not (path.parent / candidate).resolve().is_relative_to(REPO):
            found.append(candidate)
    return found


@pytest.mark.parametrize("path", DOC_FILES, ids=[p.name for p in DOC_FILES])
def test_docs_name_nothing_outside_the_repository(path: Path):
    assert outside_paths(path) == []


def test_readme_names_nothing_outside_the_repository():
    assert outside_paths(README) == []
