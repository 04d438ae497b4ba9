"""The domain stays plain (journeys/ imports neither bot/ nor Telegram nor the database), and no import
cycle among our modules, counting the imports inside functions too: a cycle hidden in a
function (the HTTP API and the app once imported each other that way) is still two modules that cannot be
understood, tested or changed one without the other.

The graph is read from the source with ast (nothing is imported, so it takes milliseconds): an import of
a.b.c is an edge to a.b.c, `from a.b import c` to a.b.c when c is a module, else to a.b. Imports under
`if TYPE_CHECKING:` never run and are left out.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "journeys")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:  # run by alembic, never imported by us
                found[module_name(path)] = path
    return found


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(tree: ast.AST, package: str, known: set[str]) -> set[str]:
    """Our modules the tree imports."""
    return {name for name in imported_names(tree, package, known) if name in known}


def imported_names(tree: ast.AST, package: str, known: set[str]) -> set[str]:
    """Every module the tree imports, ours or not."""
    targets: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and is_type_checking(node):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package upwards
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
        pending.extend(ast.iter_child_nodes(node))
    return targets


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    graph = {}
    for name, path in found.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = imported(ast.parse(path.read_text(), str(path)), package, known) - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_our_imports() -> None:
    graph = import_graph()
    assert "bot.db.uow" in graph["bot.app"]
    assert "bot.curator.cards" in graph["bot.curator.relay"]  # `from bot.curator import cards`
    assert "journeys.clock" in graph["bot.app"]
    assert "bot.standin.server" not in graph["bot.standin.client"]  # only under TYPE_CHECKING


def test_cycles_finds_a_cycle_through_a_function_level_import() -> None:
    source = "def f():\n    from b import x\n"
    assert imported(ast.parse(source), "", {"b"}) == {"b"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_type_checking_imports_are_left_out() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
    assert imported(ast.parse(source), "", {"b", "c"}) == {"c"}


def test_the_domain_imports_neither_the_bot_nor_telegram_nor_the_database() -> None:
    found = modules()
    known = set(found)
    offending = {}
    for name, path in found.items():
        if name.split(".")[0] != "journeys":
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        names = imported_names(ast.parse(path.read_text(), str(path)), package, known)
        bad = sorted(n for n in names if n.split(".")[0] in ("bot", "aiogram", "aiohttp", "sqlalchemy"))
        if bad:
            offending[name] = bad
    assert offending == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package: str) -> None:
    found = [cycle for cycle in cycles(import_graph()) if any(m.split(".")[0] == package for m in cycle)]
    assert not found, f"import cycles: {found}"
