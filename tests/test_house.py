"""The house rules that import-linter cannot say (docs/ARCHITECTURE.md): small modules, few loose at the top,
no private names across modules, no import cycles (lazy imports included), every layer says what it owns.

Read from the source with `ast`, so a lazy import inside a function counts like any other.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "whiteboard"
MAX_LINES = 500
MAX_TOP_LEVEL_MODULES = 10
# Modules allowed over MAX_LINES, each with the reason and the work that removes it. Keep this empty.
LONG_MODULE_ALLOWANCE: dict[str, str] = {}


def python_files(*roots: Path) -> Iterator[Path]:
    for root in roots:
        yield from (p for p in sorted(root.rglob("*.py")) if "node_modules" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for p in python_files(PACKAGE)}


def imports_of(path: Path, modules: dict[str, Path]) -> Iterator[tuple[int, str, str | None]]:
    """(line, imported module, imported name or None) for every project import in `path`, lazy ones included."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "whiteboard":
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parts, base] if base else parts)
            if base.split(".")[0] != "whiteboard":
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    yield node.lineno, submodule, None
                else:
                    yield node.lineno, base, alias.name


def test_no_module_is_over_the_line_limit() -> None:
    too_long = {
        str(p.relative_to(ROOT)): n for p in python_files(PACKAGE) if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    unexplained = {path: n for path, n in too_long.items() if path not in LONG_MODULE_ALLOWANCE}
    assert not unexplained, f"modules over {MAX_LINES} lines: split them by job ({unexplained})"
    stale = set(LONG_MODULE_ALLOWANCE) - set(too_long)
    assert not stale, f"these modules fit now: remove them from LONG_MODULE_ALLOWANCE ({sorted(stale)})"


def test_few_modules_are_loose_at_the_top_of_the_package() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(loose) <= MAX_TOP_LEVEL_MODULES, f"{len(loose)} modules at the top of whiteboard/: {loose}"


def test_every_subpackage_says_what_it_owns_and_may_import() -> None:
    silent = []
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        if "import" not in doc:
            silent.append(str(init.relative_to(ROOT)))
    assert not silent, f"subpackages whose __init__ docstring does not say what they own and may import: {silent}"


@pytest.mark.parametrize("tree", ["whiteboard", "tests", "benchmarks"])
def test_no_private_name_crosses_a_module(tree: str) -> None:
    """What another module needs is public and named for it; `_name` stays in the module that defines it."""
    modules = project_modules()
    crossings = []
    for path in python_files(ROOT / tree):
        rel = path.relative_to(ROOT)
        for line, module, name in imports_of(path, modules):
            if name is not None and name.startswith("_") and not name.startswith("__"):
                crossings.append(f"{rel}:{line}: from {module} import {name}")
        aliases = {}
        tree_ = ast.parse(path.read_text())
        for node in ast.walk(tree_):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("whiteboard"):
                for alias in node.names:
                    if f"{node.module}.{alias.name}" in modules:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("whiteboard") and alias.asname:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree_):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                crossings.append(f"{rel}:{node.lineno}: {aliases[node.value.id]}.{node.attr}")
    assert not crossings, "private names used across modules:\n" + "\n".join(crossings)


def test_no_import_cycles_lazy_imports_included() -> None:
    """A cycle hidden in a function-level import is still a cycle: the layers would not stand without it."""
    modules = project_modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for _, imported, _name in imports_of(path, modules):
            target = imported
            while target not in modules and "." in target:
                target = target.rpartition(".")[0]
            if target != name and target in modules:
                graph[name].add(target)
    cycles = strongly_connected(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(sorted(c)) for c in cycles)


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: the groups of modules that import each other, directly or not (size > 1)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_check_sees_a_lazy_cycle() -> None:
    """The checker itself: two modules importing each other, one lazily, are reported."""
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [{"a", "b"}]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []
