"""The JSON API of reference data: the specialty classification."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from expertpool.accounts.access import login_required
from expertpool.core.errors import NotFound
from expertpool.core.state import db
from expertpool.reference import catalogue as reference
from expertpool.reference.models import Specialty

bp = Blueprint("reference_api", __name__, url_prefix="/api")


def _spec(s: Specialty) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "parent": s.parent_code,
        "level": s.level,
        "retired": s.is_retired,
    }


@bp.route("/specialties")
@login_required
def specialties() -> Any:
    """Search (`q`) or list the children of `parent` (the categories by default)."""
    session = db()
    query = request.args.get("q")
    if query:
        return jsonify({"items": [_spec(s) for s in reference.search_specialties(session, query)]})
    parent = request.args.get("parent") or None
    if parent is not None and session.get(Specialty, parent) is None:
        raise NotFound()
    return jsonify({"items": [_spec(s) for s in reference.children(session, parent)]})


@bp.route("/specialties/<code>")
@login_required
def specialty(code: str) -> Any:
    """One code with its path and children."""
    session = db()
    node = session.get(Specialty, code)
    if node is None:
        raise NotFound()
    return jsonify(
        {
            **_spec(node),
            "path": [_spec(s) for s in reference.ancestors(session, code)],
            "children": [_spec(s) for s in reference.children(session, code)],
        }
    )
