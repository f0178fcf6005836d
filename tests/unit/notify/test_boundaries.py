"""notify/ stays a leaf: it imports nothing of the app, and only it imports twilio."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_PACKAGES = ("draw", "expertpool", "evaluation_room", "notify")


def _imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _top_levels(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in _imported_modules(path):
            yield path, module.split(".")[0]


def test_notify_imports_nothing_of_the_app_or_the_other_packages():
    offenders = [
        (p.name, m)
        for p, m in _top_levels("notify")
        if m in {"expertpool", "draw", "evaluation_room", "flask", "sqlalchemy"}
    ]
    assert offenders == []


def test_no_production_package_but_notify_imports_twilio():
    offenders = [
        (str(p.relative_to(ROOT)), m)
        for package in PRODUCTION_PACKAGES
        if package != "notify"
        for p, m in _top_levels(package)
        if m == "twilio"
    ]
    assert offenders == []


def test_the_boundary_check_sees_notify_importing_twilio():
    assert any(m == "twilio" for _, m in _top_levels("notify"))
