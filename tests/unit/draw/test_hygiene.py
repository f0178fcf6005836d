"""draw/ stays pure: no forbidden imports and no float literals (STYLE.md, issue #4)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

FORBIDDEN = {"flask", "sqlalchemy", "notify", "expertpool", "evaluation_room", "random"}
SOURCES = sorted((REPO / "draw").rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    """Top-level names of every module imported by a syntax tree."""
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            roots.add("<dynamic import>")
    return roots


def test_the_package_has_sources_to_scan() -> None:
    assert len(SOURCES) >= 8


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_draw_imports_no_app_database_notifier_or_random_module(path: Path) -> None:
    roots = imported_roots(ast.parse(path.read_text("utf-8")))
    assert not roots & (FORBIDDEN | {"<dynamic import>"}), path


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_draw_has_no_float_literals(path: Path) -> None:
    floats = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text("utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex))
    ]
    assert floats == [], f"{path.name}: float literals on lines {floats}"


def test_the_scan_would_catch_a_forbidden_import_and_a_float() -> None:
    tree = ast.parse("import random\nfrom flask import Flask\nx = 0.5\n")
    assert {"random", "flask"} <= imported_roots(tree)
    assert any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(tree))
