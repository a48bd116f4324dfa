"""The package's shape: no import cycles, lessons call only ``helpers.__all__``, tests of internals say so.

No engine needed: these read source files, not images.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

import helpers
from helpers.catalog import REPO

PACKAGE = REPO / "helpers"
TESTS = REPO / "tests"


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Return, for each module of the package, the package's modules it imports (at any depth of code)."""
    modules = {p.stem: p for p in package.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 1:
                found.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        graph[name] = {m for m in found if m in modules and m != name and m != "__init__"}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one import cycle as a list of modules (first == last), or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str]:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (cycle := visit(m)):
                return cycle
        state[n] = 2
        stack.pop()
        return []

    for n in sorted(graph):
        if n not in state and (cycle := visit(n)):
            return cycle
    return []


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")  # hidden inside a function
    (tmp_path / "c.py").write_text("from . import a\n")
    assert find_cycle(import_graph(tmp_path)) == ["a", "b", "a"]


def test_helpers_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert not cycle, " -> ".join(cycle)


def lesson_calls() -> set[str]:
    """Return every ``helpers.NAME`` the lessons use."""
    names: set[str] = set()
    for path in sorted((REPO / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                names.update(re.findall(r"\bhelpers\.(\w+)", cell.source))
    return names


def test_lessons_call_only_the_public_api() -> None:
    used = lesson_calls()
    assert used, "the lessons call no helpers at all?"
    assert used <= set(helpers.__all__), sorted(used - set(helpers.__all__))
    assert all(hasattr(helpers, n) for n in helpers.__all__)


def test_tests_of_internals_say_that_they_are() -> None:
    """A test module that imports more than ``helpers``'s public names says so in its docstring."""
    unmarked = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        internal = any(isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers.")
                       or isinstance(node, ast.ImportFrom) and node.module == "helpers"
                       and any(a.name not in helpers.__all__ for a in node.names)
                       for node in ast.walk(tree))
        doc = ast.get_docstring(tree) or ""
        if internal and "internals" not in doc.lower():
            unmarked.append(path.name)
    assert not unmarked, f"say 'Tests of internals' in the docstring of: {unmarked}"
