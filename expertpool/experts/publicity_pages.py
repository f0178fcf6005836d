"""The public publicity page (公示) and objections to an application in publicity."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import public
from expertpool.core.calendar import cst_date
from expertpool.core.errors import ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.state import db, limiter, now, state
from expertpool.experts import publicity

bp = Blueprint("publicity", __name__, template_folder="templates")


@bp.route("/publicity", methods=["GET"])
@public
def listing() -> Any:
    """Applications in publicity: name, organisation, title, specialties; and the objection form."""
    return render_template(
        "experts/publicity.html",
        items=publicity.published(db()),
        today=cst_date(now()),
        errors={},
        form={},
        failed=None,
    )


@bp.route("/publicity/<int:expert_id>/objections", methods=["POST"])
@public
@limiter.limit("5 per hour", key_func=lambda: f"objection|{request.remote_addr}")
def object_to(expert_id: int) -> Any:
    """Anyone objects to an application in publicity, with a reason and a contact."""
    session = db()
    try:
        publicity.object_to(
            session,
            cipher=PiiCipher.from_keys(state().keys),
            expert_id=expert_id,
            reason=request.form.get("reason", ""),
            contact=request.form.get("contact", ""),
            today=cst_date(now()),
            ip=request.remote_addr,
        )
    except ValidationFailed as exc:
        session.rollback()
        return render_template(
            "experts/publicity.html",
            items=publicity.published(session),
            today=cst_date(now()),
            errors=exc.fields,
            form=request.form,
            failed=expert_id,
        ), 422
    flash(_("Your objection was received. A reviewer will look into it."), "success")
    return redirect(url_for("publicity.listing"))
