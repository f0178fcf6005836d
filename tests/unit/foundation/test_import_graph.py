"""The one import scanner: every module of the four packages, read once, checked against one table.

- the boundary table (`RULES`): what each package may import (draw/ the standard library and
  `cryptography` only, plus orjson in its columnar loader; notify/ `twilio`, Alibaba Cloud's
  SDKs and `requests`; the room model `draw.cjson` only; and only notify/ imports the providers'
  SDKs);
- the module graph has no cycle, features import each other one way, `core` imports no feature,
  and no feature imports another inside a function.

Every import counts, function-local ones included: a function-local import used to dodge a cycle
is still a cycle. The scanner asserts how many files it read, so a package it skips fails here.
"""

from __future__ import annotations

import ast
import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("draw", "notify", "evaluation_room", "expertpool")
MIN_FILES = {"draw": 12, "notify": 7, "evaluation_room": 16, "expertpool": 120}
"""At least this many modules per package (as many as there were when the table was written)."""
DYNAMIC = "<dynamic import>"
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Import:
    """One imported name: `a.b` for `import a.b`, `a.b.c` for `from a.b import c`."""

    name: str
    local: bool
    """Inside a function body."""

    @property
    def root(self) -> str:
        return self.name.split(".")[0]


@dataclass(frozen=True)
class Module:
    """A scanned source file."""

    name: str
    path: str
    """Relative to the repository, with forward slashes."""
    imports: tuple[Import, ...]


def imports_of(source: str) -> tuple[Import, ...]:
    """Every import of a module's source, wherever it is, dynamic ones (`__import__`,
    `importlib.import_module`) as `DYNAMIC`.
    """
    found: list[Import] = []

    def visit(node: ast.AST, local: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(a.name, local) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend(Import(f"{node.module}.{a.name}", local) for a in node.names)
        elif isinstance(node, ast.Call) and (
            getattr(node.func, "id", "") == "__import__"
            or getattr(node.func, "attr", "") == "import_module"
        ):
            found.append(Import(DYNAMIC, local))
        inner = local or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(source), False)
    return tuple(found)


def _module_name(relative: Path) -> str:
    parts = list(relative.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def scan() -> tuple[Module, ...]:
    """Read every `*.py` file of the four packages once."""
    modules = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            modules.append(
                Module(
                    _module_name(relative),
                    relative.as_posix(),
                    imports_of(path.read_text(encoding="utf-8")),
                )
            )
    return tuple(modules)


def python_files_on_disk() -> set[str]:
    """The same files found another way (os.walk), to check the scanner read them all."""
    found = set()
    for package in PACKAGES:
        for folder, _dirs, files in os.walk(ROOT / package):
            for name in files:
                if name.endswith(".py"):
                    found.add((Path(folder) / name).relative_to(ROOT).as_posix())
    return found


def test_the_scanner_reads_every_module_of_the_four_packages() -> None:
    modules = scan()
    assert len(modules) == len(python_files_on_disk())
    assert {m.path for m in modules} == python_files_on_disk()
    per_package = {p: sum(1 for m in modules if m.path.startswith(f"{p}/")) for p in PACKAGES}
    assert all(per_package[p] >= MIN_FILES[p] for p in PACKAGES), per_package
    assert sum(len(m.imports) for m in modules) > 1000


# --- The boundary table ------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Files matching `scope` (minus `unless`) may import the standard library, their own
    package and the names in `allowed` (None: anything), never those in `forbidden`.
    """

    scope: tuple[str, ...]
    allowed: frozenset[str] | None
    forbidden: frozenset[str] = frozenset({DYNAMIC})
    unless: tuple[str, ...] = ()

    def applies_to(self, path: str) -> bool:
        return any(fnmatch(path, s) for s in self.scope) and not any(
            fnmatch(path, u) for u in self.unless
        )

    def refuses(self, module: Module, imp: Import) -> bool:
        if any(imp.name == f or imp.name.startswith(f"{f}.") for f in self.forbidden):
            return True
        if self.allowed is None or imp.root in STDLIB or imp.root == module.path.split("/")[0]:
            return False
        return not any(imp.name == a or imp.name.startswith(f"{a}.") for a in self.allowed)


#: Alibaba Cloud's official SDKs (SMS, voice) and the Tea/Darabonba runtime under them.
ALIYUN = frozenset(
    {
        "alibabacloud_dysmsapi20170525",
        "alibabacloud_dyvmsapi20170525",
        "alibabacloud_tea_openapi",
        "alibabacloud_tea_util",
        "darabonba",
        "Tea",
    }
)
ROOM_FRAMEWORK = ("evaluation_room/__init__.py", "evaluation_room/handlers.py")
RULES = {
    "draw: the standard library and cryptography, no random module": Rule(
        ("draw/*.py",),
        frozenset({"cryptography"}),
        frozenset({DYNAMIC, "random"}),
        unless=("draw/columnar.py",),
    ),
    "the draw's columnar path: also orjson (its loader for large pools)": Rule(
        ("draw/columnar.py",), frozenset({"cryptography", "orjson"}), frozenset({DYNAMIC, "random"})
    ),
    "notify: twilio, Alibaba Cloud's SDKs and requests, never the app, the draw or the room": Rule(
        ("notify/*.py",), frozenset({"twilio", "requests", *ALIYUN})
    ),
    "the room model: only draw.cjson (for its report digest)": Rule(
        ("evaluation_room/*.py",), frozenset({"draw.cjson"}), unless=ROOM_FRAMEWORK
    ),
    "the room's Socket.IO glue: also Flask and Flask-SocketIO": Rule(
        ROOM_FRAMEWORK, frozenset({"draw.cjson", "flask", "flask_socketio"})
    ),
    "the app: anything but the providers' SDKs (only notify talks to the providers)": Rule(
        ("expertpool/*",), None, frozenset({DYNAMIC, "twilio", *ALIYUN})
    ),
}


@pytest.mark.parametrize("rule", RULES.values(), ids=RULES.keys())
def test_each_package_imports_only_what_the_table_allows(rule: Rule) -> None:
    checked = [m for m in scan() if rule.applies_to(m.path)]
    assert checked, "the rule matches no file"
    offenders = [(m.path, i.name) for m in checked for i in m.imports if rule.refuses(m, i)]
    assert offenders == []


def test_the_table_covers_every_module() -> None:
    uncovered = [m.path for m in scan() if not any(r.applies_to(m.path) for r in RULES.values())]
    assert uncovered == []
    room = RULES["the room's Socket.IO glue: also Flask and Flask-SocketIO"]
    assert {m.path for m in scan() if room.applies_to(m.path)} == set(ROOM_FRAMEWORK)


def test_the_table_refuses_what_it_should() -> None:
    source = (
        "import random\nfrom flask import Flask\nfrom draw import engine, cjson\n"
        "def f():\n    import twilio.rest\n    __import__('os')\n"
    )
    module = Module("evaluation_room.x", "evaluation_room/x.py", imports_of(source))
    pure = RULES["the room model: only draw.cjson (for its report digest)"]
    assert [i.name for i in module.imports if pure.refuses(module, i)] == [
        "flask.Flask",
        "draw.engine",
        "twilio.rest",
        DYNAMIC,
    ]
    assert [i.local for i in module.imports] == [False, False, False, False, True, True]
    draw_rule = RULES["draw: the standard library and cryptography, no random module"]
    as_draw = Module("draw.x", "draw/x.py", module.imports)
    assert "random" in [i.name for i in module.imports if draw_rule.refuses(as_draw, i)]
    app = RULES["the app: anything but the providers' SDKs (only notify talks to the providers)"]
    as_app = Module("expertpool.x", "expertpool/x.py", module.imports)
    assert [i.name for i in module.imports if app.refuses(as_app, i)] == ["twilio.rest", DYNAMIC]


# --- The module graph --------------------------------------------------------------------------


def _resolve(name: str, modules: set[str]) -> str | None:
    """The module `name` names, or the longest module prefix of it (a name imported from it)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """module -> the modules of the four packages it imports (anywhere in its body); migrations
    are left out (they run alone, against a frozen schema).
    """
    modules = {m.name: m for m in scan() if "/migrations/" not in m.path}
    graph = {}
    for name, module in modules.items():
        targets = {_resolve(i.name, set(modules)) for i in module.imports}
        graph[name] = frozenset(t for t in targets if t is not None and t != name)
    return graph


def find_cycle(graph: dict[str, frozenset[str]] | dict[str, set[str]]) -> list[str] | None:
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


def test_the_module_graph_holds_every_module_but_the_migrations() -> None:
    graph = import_graph()
    assert {"draw.engine", "notify.base", "evaluation_room.room", "expertpool.app"} <= set(graph)
    assert len(graph) == sum(1 for m in scan() if "/migrations/" not in m.path)


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


def test_no_feature_imports_another_inside_a_function() -> None:
    local = [
        (m.path, i.name)
        for m in scan()
        if m.name.startswith("expertpool.") and "/migrations/" not in m.path
        for i in m.imports
        if i.local and i.root == "expertpool" and feature_of(i.name) != feature_of(m.name)
    ]
    assert local == []


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
