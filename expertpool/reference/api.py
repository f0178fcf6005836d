"""The JSON API of reference data: the specialty classification."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import Field

from expertpool.accounts.access import login_required
from expertpool.core.api import PREFIX, Out, PageMeta, PageQuery, operation, page_of, query
from expertpool.core.errors import NotFound
from expertpool.core.state import db
from expertpool.reference import catalogue as reference
from expertpool.reference.models import Specialty

bp = Blueprint("reference_api", __name__, url_prefix=PREFIX)
TAGS = ["reference"]


class SpecialtyQuery(PageQuery):
    q: str | None = Field(None, max_length=100, description="Search codes and names.")
    parent: str | None = Field(
        None, max_length=20, description="List the children of this code (default: categories)."
    )


class SpecialtyOut(Out):
    code: str
    name: str
    parent: str | None
    level: int
    retired: bool


class SpecialtyPage(PageMeta):
    items: list[SpecialtyOut]


class SpecialtyDetail(SpecialtyOut):
    path: list[SpecialtyOut]
    children: list[SpecialtyOut]


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
@operation(tags=TAGS, query=SpecialtyQuery, scope="reference:read", HTTP_200=SpecialtyPage)
def specialties() -> Any:
    """Search (`q`) or list the children of `parent` (the categories by default), paged."""
    session = db()
    args = query(SpecialtyQuery)
    if args.q:
        return jsonify(
            page_of(reference.search_specialties(session, args.q, limit=1000), args, _spec)
        )
    parent = args.parent or None
    if parent is not None and session.get(Specialty, parent) is None:
        raise NotFound()
    return jsonify(page_of(reference.children(session, parent), args, _spec))


@bp.route("/specialties/<code>")
@login_required
@operation(tags=TAGS, scope="reference:read", HTTP_200=SpecialtyDetail)
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
