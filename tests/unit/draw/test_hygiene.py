"""draw/ has no float literals: the draw is exact integer arithmetic (docs/draw-v1.md §2, §7).

Its imports are checked with every other package's in tests/unit/foundation/test_import_graph.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO

SOURCES = sorted((REPO / "draw").rglob("*.py"))


def float_lines(tree: ast.AST) -> list[int]:
    """Lines of the float and complex literals of a syntax tree."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, (float, complex))
    ]


def test_the_package_has_sources_to_scan() -> None:
    assert len(SOURCES) >= 12


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_draw_has_no_float_literals(path: Path) -> None:
    floats = float_lines(ast.parse(path.read_text("utf-8")))
    assert floats == [], f"{path.name}: float literals on lines {floats}"


def test_the_scan_would_catch_a_float() -> None:
    assert float_lines(ast.parse("x = 1\ny = 0.5\nz = 2j\n")) == [2, 3]
