"""The module graph of the four packages has no cycles, and features import each other one way.

Every import counts, function-local ones included: a function-local import used to dodge a cycle
is still a cycle.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("draw", "notify", "evaluation_room", "expertpool")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module `name` names, or the longest module prefix of it (a name imported from it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of the four packages it imports (anywhere in its body)."""
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved is not None and resolved != name:
                    graph[name].add(resolved)
        graph.setdefault(name, set())
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a list of nodes (first repeated last), or None."""
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in colour and (found := visit(nxt)):
                return found
        stack.pop()
        colour[node] = 2
        return None

    for node in sorted(graph):
        if node not in colour and (found := visit(node)):
            return found
    return None


def feature_of(module: str) -> str:
    """`expertpool.draws.panels` -> `draws`; the top-level app modules are the composition root."""
    parts = module.split(".")
    if parts[0] != "expertpool":
        return parts[0]
    return parts[1] if len(parts) > 2 else "(root)"


def test_the_module_graph_of_the_four_packages_reads_every_module() -> None:
    graph = import_graph()
    assert {"draw.engine", "notify.base", "evaluation_room.room", "expertpool.app"} <= set(graph)
    assert len(graph) > 100


def test_no_module_imports_itself_through_others() -> None:
    assert find_cycle(import_graph()) is None


def test_features_import_each_other_one_way() -> None:
    features: dict[str, set[str]] = defaultdict(set)
    for module, targets in import_graph().items():
        if not module.startswith("expertpool."):
            continue
        for target in targets:
            if target.startswith("expertpool.") and feature_of(target) != feature_of(module):
                features[feature_of(module)].add(feature_of(target))
    assert find_cycle(features) is None


def test_core_imports_no_feature() -> None:
    core = {t for m, ts in import_graph().items() if feature_of(m) == "core" for t in ts}
    assert {feature_of(t) for t in core if t.startswith("expertpool.")} <= {"core"}


@pytest.mark.parametrize(
    ("graph", "cyclic"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, False),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
        ({"a": {"a"}}, True),
        ({"a": {"b", "c"}, "b": {"d"}, "c": {"d"}, "d": set()}, False),
    ],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], cyclic: bool) -> None:
    assert (find_cycle(graph) is not None) is cyclic
