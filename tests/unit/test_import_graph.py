"""The import graph of src/korona: no cycle, and no import from a lower layer to a higher one.

Read from the source with :mod:`ast` (nothing is imported), so the test also sees imports
made inside functions. ``from package import name`` counts as an import of the package (its
``__init__`` runs and hands the name on) and, when ``name`` is a submodule, of that too: a
module that takes a sibling through its package's face, while the face re-exports from that
module, is a cycle. Imports under ``if TYPE_CHECKING:`` never run, so they make no cycle, but
they still count for the layers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

#: (importer prefix, imported prefix, why it is forbidden)
FORBIDDEN = [
    ("korona.portfolio", "korona.web", "domain code knows no HTTP"),
    ("korona.auth", "korona.web", "domain code knows no HTTP"),
    ("korona.surveillance", "korona.web", "surveillance knows no HTTP"),
    ("korona.surveillance.detect", "<cli>", "detectors sit below the command line"),
]


@dataclass(frozen=True)
class Edge:
    importer: str
    imported: str
    line: int
    type_only: bool


def _modules(root: Path) -> dict[str, tuple[Path, bool]]:
    """Return dotted module name -> (file, is a package) for every .py file under ``root``."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules[".".join(parts)] = (path, is_package)
    return modules


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers of the imports inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(n.lineno for n in ast.walk(child) if hasattr(n, "lineno"))
    return lines


def import_edges(root: Path) -> tuple[set[str], list[Edge]]:
    """Return the modules under ``root`` and the imports between them."""
    modules = _modules(root)

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges = []
    for module, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        type_only = _type_checking_lines(tree)
        package = module if is_package else module.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                targets = [source, *(f"{source}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in sorted({t for t in map(known, targets) if t and t != module}):
                edges.append(Edge(module, target, node.lineno, node.lineno in type_only))
    return set(modules), edges


def cycles(modules: set[str], edges: list[Edge]) -> list[list[Edge]]:
    """Return each import cycle (a strongly connected set of modules) as the edges inside it."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for edge in edges:
        if not edge.type_only:
            graph[edge.importer].add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm; the graph is a few hundred modules
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                other = stack.pop()
                group.add(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [
        [e for e in edges if not e.type_only and e.importer in g and e.imported in g] for g in found
    ]


def _is_cli(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "cli" or last.startswith("cli_") or last == "__main__"


def forbidden(edges: list[Edge]) -> list[str]:
    """Return one line per import that crosses a layer the wrong way."""
    broken = []
    for edge in edges:
        for importer, imported, why in FORBIDDEN:
            if not (edge.importer == importer or edge.importer.startswith(importer + ".")):
                continue
            if imported == "<cli>":
                hit = _is_cli(edge.imported)
            else:
                hit = edge.imported == imported or edge.imported.startswith(imported + ".")
            if hit:
                broken.append(f"{edge.importer}:{edge.line} imports {edge.imported} ({why})")
    return broken


@pytest.fixture(scope="module")
def graph() -> tuple[set[str], list[Edge]]:
    return import_edges(SRC)


def test_src_korona_has_no_import_cycle(graph: tuple[set[str], list[Edge]]) -> None:
    modules, edges = graph
    found = cycles(modules, edges)
    report = [
        "cycle: " + ", ".join(f"{e.importer}:{e.line} -> {e.imported}" for e in cycle)
        for cycle in found
    ]
    assert not found, "\n".join(report)


def test_no_import_runs_up_the_layers(graph: tuple[set[str], list[Edge]]) -> None:
    _modules, edges = graph
    assert forbidden(edges) == []


def test_the_graph_is_read_whole(graph: tuple[set[str], list[Edge]]) -> None:
    """Guard against a checker that passes because it reads nothing."""
    modules, edges = graph
    assert len(modules) > 200
    pairs = {(e.importer, e.imported) for e in edges}
    assert ("korona.surveillance.cli", "korona.surveillance.cli_detect") in pairs
    assert ("korona.surveillance.store.store", "korona.surveillance.store.grid") in pairs


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_finds_a_cycle_through_a_package_face(tmp_path: Path) -> None:
    # The shape the store package had: the face re-exports from store.py, which took a
    # sibling module through the face.
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.store import Store\n",
            "pkg/grid.py": "X = 1\n",
            "pkg/store.py": "from pkg import grid\nclass Store: ...\n",
            "pkg/typed.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.other import O\n",
            "pkg/other.py": "from pkg.typed import *\nO = 1\n",
            "pkg/detect/__init__.py": "from pkg.cli_tools import x\n",
            "pkg/cli_tools.py": "x = 1\n",
        },
    )
    modules, edges = import_edges(tmp_path)
    found = cycles(modules, edges)
    assert [sorted({e.importer for e in cycle}) for cycle in found] == [["pkg", "pkg.store"]]
    assert Edge("pkg.typed", "pkg.other", 3, type_only=True) in edges
    assert forbidden(edges) == []  # the rules name korona's packages only

    (tmp_path / "pkg/store.py").write_text("import pkg.grid as grid\nclass Store: ...\n")
    modules, edges = import_edges(tmp_path)
    assert cycles(modules, edges) == []


def test_the_checker_finds_upward_imports(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "korona/__init__.py": "",
            "korona/web/__init__.py": "",
            "korona/web/deps.py": "",
            "korona/cli.py": "",
            "korona/surveillance/__init__.py": "",
            "korona/surveillance/detect/__init__.py": "",
            "korona/surveillance/detect/base.py": "def f():\n    from korona import cli\n",
            "korona/portfolio/__init__.py": "",
            "korona/portfolio/router.py": "from ..web.deps import x\n",
        },
    )
    _modules, edges = import_edges(tmp_path)
    assert sorted(forbidden(edges)) == [
        "korona.portfolio.router:1 imports korona.web.deps (domain code knows no HTTP)",
        "korona.surveillance.detect.base:2 imports korona.cli "
        "(detectors sit below the command line)",
    ]
