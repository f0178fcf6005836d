"""evaluation_room/ stays pure: no Flask, SQLAlchemy, Twilio or app imports."""

from __future__ import annotations

import ast
from pathlib import Path

import evaluation_room

FORBIDDEN = ("flask", "flask_socketio", "sqlalchemy", "twilio", "expertpool", "notify", "draw")
PURE = ["_codec", "adapters", "checkin", "commands", "election", "errors", "model", "ports",
        "report", "room", "scoring"]  # fmt: skip


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_room_model_imports_no_framework_database_or_app_module() -> None:
    package = Path(evaluation_room.__file__).parent
    for name in PURE:
        roots = imported_roots(package / f"{name}.py")
        assert not roots & set(FORBIDDEN), (name, roots & set(FORBIDDEN))
