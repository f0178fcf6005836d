"""The rule table (read-only for every signed-in user) and an administrator's change."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from expertpool.accounts.access import login_required, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import db, now
from expertpool.regimes import labels, rulebook
from expertpool.regimes.models import ANY, LegalRegime, ProcurementMethod, RuleStatus
from expertpool.regimes.rules import RULE_KEYS

bp = Blueprint("rules", __name__, url_prefix="/rules", template_folder="templates")


@bp.route("")
@login_required
def rule_table() -> str:
    """Every rule of one version (the one in force by default) with its source and status."""
    session = db()
    in_force = rulebook.version_in_force(session, now())
    number = request.args.get("version", type=int) or in_force
    return render_template(
        "regimes/rules.html",
        rows=rulebook.table(session, number),
        number=number,
        in_force=in_force,
        versions=rulebook.versions(session),
        can_change=require_user().role is UserRole.ADMIN,
    )


@bp.route("/change", methods=["GET", "POST"])
@roles(UserRole.ADMIN)
def change() -> Any:
    """Change one rule from a date on (a new version, on the audit trail)."""
    errors: dict[str, str] = {}
    form = request.form if request.method == "POST" else request.args
    if request.method == "POST":
        try:
            version = rulebook.change_rule(
                db(),
                actor=require_user(),
                regime=form.get("regime", ""),
                method=form.get("method", ""),
                key=form.get("key", ""),
                value=form.get("value", ""),
                effective_on=form.get("effective_on", ""),
                source=form.get("source", ""),
                status=form.get("status", ""),
                note=form.get("note", ""),
                now=now(),
            )
        except ValidationFailed as exc:
            errors = exc.fields or {"value": exc.message}
        else:
            flash(
                _(
                    "Rule version %(n)d is in force from %(d)s.",
                    n=version.number,
                    d=version.effective_on.isoformat(),
                ),
                "success",
            )
            return redirect(url_for("rules.rule_table", version=version.number))
    return render_template(
        "regimes/change.html",
        form=form,
        errors=errors,
        regimes=[ANY, *[r.value for r in LegalRegime]],
        methods=[ANY, *[m.value for m in ProcurementMethod]],
        keys=list(RULE_KEYS),
        statuses=[s.value for s in RuleStatus],
    ), (422 if errors else 200)


labels.register_filters(bp)
