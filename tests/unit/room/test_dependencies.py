"""evaluation_room/ stays pure: no Flask, SQLAlchemy, Twilio or app imports.

One exception: the report is hashed with the code base's one canonical JSON, ``draw.cjson``
(standard library only), so ``report`` may import that module and nothing else from ``draw``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import evaluation_room

FORBIDDEN = ("flask", "flask_socketio", "sqlalchemy", "twilio", "expertpool", "notify", "draw")
PURE = [
    "_codec",
    "adapters",
    "checkin",
    "commands",
    "election",
    "errors",
    "model",
    "ports",
    "report",
    "room",
    "scoring",
]


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
        allowed = {"draw"} if name == "report" else set()
        assert not roots & (set(FORBIDDEN) - allowed), (name, roots & set(FORBIDDEN))


def test_the_report_takes_only_the_canonical_json_from_draw() -> None:
    tree = ast.parse((Path(evaluation_room.__file__).parent / "report.py").read_text("utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    plain = [a.name for n in imports if isinstance(n, ast.Import) for a in n.names]
    from_draw = [
        (n.module, [a.name for a in n.names])
        for n in imports
        if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] == "draw"
    ]
    assert not [name for name in plain if name.split(".")[0] == "draw"]
    assert from_draw == [("draw", ["cjson"])]
