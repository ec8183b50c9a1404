"""The tree shows the domain and stays readable: packages import downhill only (no circles
between packages or modules), and no module grows past what one can read in a sitting."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "billing"
MAX_LINES = 400

#: Each package may import only packages on lower layers (and its own). Layers read bottom-up.
LAYERS = [
    {"core"},
    {"storage", "presentation"},
    {"access", "contracts", "collection"},
    {"measurement"},
    {"rating"},
    {"invoicing", "statements"},
    {"reconciliation", "simulation", "export", "privacy"},
    {"api"},
    {"cli"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """Every billing module ``path`` imports, at any depth (a lazy import is still a dependency)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        for target in targets:
            if target in modules:
                found.add(target)
                break
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else None


def test_every_package_is_on_a_layer() -> None:
    layered = set().union(*LAYERS)
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == layered


def test_packages_import_downhill_only() -> None:
    modules = _modules()
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    uphill = []
    for module, path in modules.items():
        source = _package(module)
        for target in _imports(path, modules):
            dest = _package(target)
            if source and dest and source != dest and layer[dest] >= layer[source]:
                uphill.append(f"{module} -> {target}")
    assert uphill == []


def test_no_module_imports_itself_round_a_circle() -> None:
    modules = _modules()
    # A package's __init__ re-exporting its own modules is not a circle of dependencies.
    graph = {
        m: {t for t in _imports(p, modules) if not (p.name == "__init__.py" and t.startswith(m + "."))}
        for m, p in modules.items()
    }
    assert _cycles(graph) == []


def test_no_module_is_longer_than_one_sitting() -> None:
    long = {
        str(path.relative_to(REPO)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    counts: dict[str, set[str]] = defaultdict(set)
    assert _cycles(counts) == []
