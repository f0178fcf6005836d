"""Browse and search the specialty tree; list the trading centres."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select

from expertpool.accounts.access import login_required, require_centre, require_user, roles
from expertpool.accounts.models import Centre, User, UserRole
from expertpool.core.errors import NotFound
from expertpool.core.state import db
from expertpool.reference import catalogue as reference
from expertpool.reference.models import Specialty

bp = Blueprint("reference", __name__, template_folder="templates")


@bp.route("/specialties")
@login_required
def specialties() -> str:
    """The tree, one level at a time, with a search box."""
    session = db()
    query = (request.args.get("q") or "").strip()
    parent = request.args.get("parent") or None
    if parent is not None and session.get(Specialty, parent) is None:
        raise NotFound()
    nodes = (
        reference.search_specialties(session, query)
        if query
        else reference.children(session, parent)
    )
    counts = reference.child_counts(session, [n.code for n in nodes])
    path = reference.ancestors(session, parent) if parent else []
    return render_template(
        "reference/specialties.html",
        nodes=nodes,
        counts=counts,
        path=path,
        query=query,
        parent=parent,
    )


@bp.route("/centres")
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
def centres() -> str:
    """The trading centres of the province."""
    rows = list(db().execute(select(Centre).order_by(Centre.region_code)).scalars())
    return render_template("reference/centres.html", centres=rows)


@bp.route("/centres/<code>")
@roles(UserRole.CENTRE_STAFF, UserRole.SUPERVISOR, UserRole.ADMIN)
def centre(code: str) -> str:
    """One centre and its staff; centre staff see only their own centre."""
    session = db()
    row = session.execute(select(Centre).where(Centre.region_code == code)).scalar_one_or_none()
    if row is None:
        raise NotFound()
    require_centre(require_user(), row)
    staff = list(
        session.execute(
            select(User).where(User.centre_id == row.id).order_by(User.username)
        ).scalars()
    )
    return render_template("reference/centre.html", centre=row, staff=staff)
