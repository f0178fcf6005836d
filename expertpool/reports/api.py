"""The JSON API of signed reports (under /api/v1): a trading system fetches the signed
evaluation report of its centre's session from sign-off (scope ``reports:read``).

The answer carries the signed PDF (base64), its SHA-256 and the draw-ledger entry holding that
hash; readers outside the visibility table are answered "not found" (`reports/archive.py`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import Field

from expertpool.accounts.access import current_token, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.api import PREFIX, Out, operation
from expertpool.core.state import db, state
from expertpool.reports import archive

bp = Blueprint("reports_api", __name__, url_prefix=PREFIX)
TAGS = ["reports"]
READERS = (
    UserRole.CENTRE_STAFF,
    UserRole.SUPERVISOR,
    UserRole.ADMIN,
    UserRole.EXPERT,
    UserRole.ORG_CONTACT,
)


class ReportOut(Out):
    room_id: str
    project_id: int | None
    signed_at: str = Field(description="When the report was signed (ISO 8601, UTC).")
    pdf_sha256: str = Field(description="SHA-256 of the signed PDF, as in the draw ledger.")
    final_report_digest: str = Field(description="Digest of the report the members signed.")
    signer: str = Field(description="The kind of signature (pades).")
    certificate_sha256: str = Field(description="The certificate fingerprint (see /keys).")
    ledger_seq: int | None = Field(description="The draw-ledger entry holding pdf_sha256.")
    pdf_base64: str = Field(description="The signed PDF.")


@bp.route("/reports/<room_id>", methods=["GET"])
@roles(*READERS)
@operation(tags=TAGS, scope="reports:read", HTTP_200=ReportOut)
def signed_report(room_id: str) -> Any:
    """A session's signed evaluation report, from sign-off, for readers the table allows."""
    token = current_token()
    row, pdf = archive.read_report(
        db(),
        room_id=room_id,
        user=require_user(),
        is_machine=token is not None and bool(token.client),
        keys=state().keys,
        via="api",
    )
    return jsonify(
        {
            "room_id": row.room_id,
            "project_id": row.project_id,
            "signed_at": row.signed_at.isoformat(),
            "pdf_sha256": row.pdf_sha256,
            "final_report_digest": row.final_report_digest,
            "signer": row.signer,
            "certificate_sha256": row.certificate_sha256,
            "ledger_seq": row.ledger_seq,
            "pdf_base64": archive.pdf_base64(pdf),
        }
    )
