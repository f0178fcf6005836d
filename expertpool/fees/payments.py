"""Payment batches for the bank (Excel and CSV), the returned file that marks lines paid or
failed, payments marked by hand, reconciliation, and experts' bank accounts (encrypted).

The returned file (docs/fees.md): CSV (UTF-8) or Excel, a header row and then one row per line
with the columns `reference` (as exported, `FL<line id>`), `status` (`paid` or `failed`),
`bank_reference` (the bank's reference, required for `paid`) and `message` (why it failed).
A paid line never changes: a row for it is accepted only when it repeats the same payment.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import User, UserRole
from expertpool.core import audit
from expertpool.core.db import utcnow
from expertpool.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import _l
from expertpool.fees.models import (
    BankAccount,
    FeeLine,
    FeeStatement,
    LineKind,
    LineStatus,
    PaymentBatch,
)
from expertpool.fees.money import yuan

EXPORT_COLUMNS = ("reference", "payee", "bank", "account", "amount", "payer", "session")
RETURN_COLUMNS = ("reference", "status", "bank_reference", "message")
PAYABLE = (LineStatus.UNPAID, LineStatus.FAILED)


def _staff(actor: User) -> None:
    if actor.role not in (UserRole.CENTRE_STAFF, UserRole.ADMIN):
        raise Forbidden()


def _centre_filter(actor: User) -> Any:
    return (
        FeeStatement.centre_id == actor.centre_id if actor.role is UserRole.CENTRE_STAFF else None
    )


# Bank accounts ---------------------------------------------------------------------------------


def set_bank_account(
    session: Session, keys: KeyStore, *, user: User, bank: str, account: str
) -> BankAccount:
    """An expert records the bank account fees go to (encrypted, bound to its row); commits."""
    clean_bank = (bank or "").strip()
    clean_account = "".join((account or "").split())
    fields: dict[str, str] = {}
    if not 2 <= len(clean_bank) <= 100:
        fields["bank"] = str(_l("The bank's name, e.g. 中国工商银行广州分行."))
    if not (clean_account.isdigit() and 10 <= len(clean_account) <= 30):
        fields["account"] = str(_l("The account number: 10 to 30 digits."))
    if fields:
        raise ValidationFailed(fields=fields)
    row = session.execute(
        select(BankAccount).where(BankAccount.user_id == user.id)
    ).scalar_one_or_none()
    if row is None:
        row = BankAccount(user_id=user.id, bank_enc=b"", account_enc=b"")
        session.add(row)
        session.flush()
    cipher = PiiCipher.from_keys(keys)
    row.bank_enc = cipher.encrypt(
        clean_bank, table="fee_bank_account", row_id=row.id, column="bank"
    )
    row.account_enc = cipher.encrypt(
        clean_account, table="fee_bank_account", row_id=row.id, column="account"
    )
    row.updated_at = utcnow()
    audit.record(
        session,
        actor=user.username,
        action="fees.bank_account_set",
        object_type="fee_bank_account",
        object_id=row.id,
        after={"account_tail": clean_account[-4:]},
    )
    session.commit()
    return row


def bank_account_of(session: Session, keys: KeyStore, user_id: int) -> tuple[str, str] | None:
    """(bank, account) of a user, decrypted; None when not recorded."""
    row = session.execute(
        select(BankAccount).where(BankAccount.user_id == user_id)
    ).scalar_one_or_none()
    if row is None:
        return None
    cipher = PiiCipher.from_keys(keys)
    return (
        cipher.decrypt(row.bank_enc, table="fee_bank_account", row_id=row.id, column="bank"),
        cipher.decrypt(row.account_enc, table="fee_bank_account", row_id=row.id, column="account"),
    )


def masked(account: str) -> str:
    """An account number with all but the last four digits hidden."""
    return "*" * max(len(account) - 4, 0) + account[-4:]


# Batches -----------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """A new batch and the lines left out (no bank account recorded)."""

    batch: PaymentBatch | None
    lines: int
    without_account: int


def create_batch(
    session: Session, *, actor: User, payer_name: str, period_from: str, period_to: str
) -> BatchResult:
    """Put every payable line of one payer with an evaluation day in the period into a new
    batch; lines of experts without a bank account stay out. Audited; commits."""
    _staff(actor)
    fields: dict[str, str] = {}
    days: list[date] = []
    for name, text in (("period_from", period_from), ("period_to", period_to)):
        try:
            days.append(date.fromisoformat((text or "").strip()))
        except ValueError:
            fields[name] = str(_l("A date, e.g. 2026-12-01."))
    if len(days) == 2 and days[0] > days[1]:
        fields["period_to"] = str(_l("The period ends on or after its start."))
    clean_payer = (payer_name or "").strip()
    if not clean_payer:
        fields["payer_name"] = str(_l("Choose the payer."))
    if fields:
        raise ValidationFailed(fields=fields)
    stmt = (
        select(FeeLine)
        .join(FeeStatement)
        .where(
            FeeLine.kind == LineKind.FEE,
            FeeLine.status.in_(PAYABLE),
            FeeStatement.payer_name == clean_payer,
            FeeStatement.evaluation_on >= days[0],
            FeeStatement.evaluation_on <= days[1],
        )
        .order_by(FeeLine.id)
    )
    # Locked (PostgreSQL), so two batches made at once never take the same line.
    stmt = stmt.where(_centre_filter(actor)).with_for_update(of=FeeLine)
    lines = list(session.execute(stmt).scalars())
    with_account = set(
        session.execute(
            select(BankAccount.user_id).where(BankAccount.user_id.in_({x.user_id for x in lines}))
        ).scalars()
    )
    payable = [x for x in lines if x.user_id in with_account and x.net_fen > 0]
    if not payable:
        return BatchResult(None, 0, len(lines) - len(payable))
    batch = PaymentBatch(
        centre_id=actor.centre_id,
        payer_name=clean_payer,
        period_from=days[0],
        period_to=days[1],
        created_by=actor.username,
    )
    session.add(batch)
    session.flush()
    for line in payable:
        line.batch_id, line.status = batch.id, LineStatus.IN_BATCH
    audit.record(
        session,
        actor=actor.username,
        action="fees.batch_created",
        object_type="fee_payment_batch",
        object_id=batch.id,
        after={"lines": len(payable), "net_fen": sum(x.net_fen for x in payable)},
    )
    session.commit()
    return BatchResult(batch, len(payable), len(lines) - len(payable))


def payers(session: Session, actor: User) -> list[str]:
    """The payers of the actor's centre's statements, by name."""
    _staff(actor)
    return sorted(
        set(
            session.execute(
                select(FeeStatement.payer_name).where(_centre_filter(actor)).distinct()
            ).scalars()
        )
    )


def get_batch(session: Session, actor: User, batch_id: int) -> PaymentBatch:
    """A batch the actor may handle, or `NotFound`."""
    _staff(actor)
    batch = session.get(PaymentBatch, batch_id)
    if batch is None or batch.centre_id != actor.centre_id:
        raise NotFound()
    return batch


def batches(session: Session, actor: User) -> list[PaymentBatch]:
    """Batches the actor may handle, newest first."""
    _staff(actor)
    return list(
        session.execute(
            select(PaymentBatch)
            .where(PaymentBatch.centre_id == actor.centre_id)
            .order_by(PaymentBatch.id.desc())
        ).scalars()
    )


def batch_lines(session: Session, batch_id: int) -> list[FeeLine]:
    """The lines of a batch (those that are in it now), in order."""
    return list(
        session.execute(
            select(FeeLine).where(FeeLine.batch_id == batch_id).order_by(FeeLine.id)
        ).scalars()
    )


def reference_of(line: FeeLine) -> str:
    """The reference a line travels under in bank files."""
    return f"FL{line.id}"


def export_rows(
    session: Session, keys: KeyStore, *, actor: User, batch: PaymentBatch
) -> list[dict[str, str]]:
    """The batch's rows for the bank, with decrypted accounts; the export is audited (commits)."""
    rows = []
    for line in batch_lines(session, batch.id):
        account = bank_account_of(session, keys, line.user_id) or ("", "")
        rows.append(
            {
                "reference": reference_of(line),
                "payee": line.expert_name,
                "bank": account[0],
                "account": account[1],
                "amount": str(yuan(line.net_fen)),
                "payer": line.statement.payer_name,
                "session": line.statement.title,
            }
        )
    audit.record(
        session,
        actor=actor.username,
        action="fees.batch_exported",
        object_type="fee_payment_batch",
        object_id=batch.id,
        after={"rows": len(rows)},
    )
    session.commit()
    return rows


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text_cell(value: str) -> str:
    """A cell that a spreadsheet program shows as text, never runs as a formula (names and banks
    are typed by people)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _safe(row: dict[str, str]) -> dict[str, str]:
    return {k: _text_cell(v) for k, v in row.items()}


def to_csv(rows: list[dict[str, str]]) -> bytes:
    """Rows as CSV (UTF-8 with a byte-order mark, which spreadsheet programs expect)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(_safe(r) for r in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, str]]) -> bytes:
    """Rows as an Excel workbook; accounts and amounts are text, so no digit is lost."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "payments"
    sheet.append(list(EXPORT_COLUMNS))
    for r in rows:
        safe = _safe(r)
        sheet.append([safe[c] for c in EXPORT_COLUMNS])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


# The returned file ----------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What a returned file did: lines marked paid or failed, rows refused (with why)."""

    paid: int = 0
    failed: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)


def _read_rows(content: bytes, filename: str) -> list[dict[str, str]]:
    if filename.lower().endswith(".xlsx"):
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds on a damaged file
            raise ValidationFailed(fields={"file": str(_l("Not a readable Excel file."))}) from None
        sheet = book.worksheets[0]
        values = [
            ["" if v is None else str(v).strip() for v in row]
            for row in sheet.iter_rows(values_only=True)
        ]
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed(fields={"file": str(_l("A CSV file in UTF-8."))}) from None
        values = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    if not values or [h.lower() for h in values[0][: len(RETURN_COLUMNS)]] != list(RETURN_COLUMNS):
        raise ValidationFailed(
            fields={
                "file": str(_l("The first row must be: %(cols)s.", cols=", ".join(RETURN_COLUMNS)))
            }
        )
    return [
        dict(zip(RETURN_COLUMNS, (row + [""] * 4)[:4], strict=True))
        for row in values[1:]
        if any(row)
    ]


def import_returned(
    session: Session, *, actor: User, batch: PaymentBatch, content: bytes, filename: str
) -> ImportResult:
    """Mark the batch's lines paid or failed from the bank's returned file; audited; commits."""
    _staff(actor)
    rows = _read_rows(content, filename)
    lines = {reference_of(x): x for x in batch_lines(session, batch.id)}
    result = ImportResult()
    now = utcnow()
    for n, row in enumerate(rows, 2):
        line = lines.get(row["reference"])
        status = row["status"].lower()
        if line is None:
            result.refused.append(
                str(_l("Row %(n)d: %(ref)s is not in this batch.", n=n, ref=row["reference"]))
            )
            continue
        if status not in ("paid", "failed") or (status == "paid" and not row["bank_reference"]):
            result.refused.append(
                str(_l("Row %(n)d: %(ref)s has no valid status.", n=n, ref=row["reference"]))
            )
            continue
        if line.status is LineStatus.PAID:
            if status == "paid" and row["bank_reference"] == line.paid_reference:
                result.unchanged += 1
            else:
                result.refused.append(
                    str(_l("Row %(n)d: %(ref)s was already paid.", n=n, ref=row["reference"]))
                )
            continue
        if line.status is not LineStatus.IN_BATCH:
            result.refused.append(
                str(_l("Row %(n)d: %(ref)s is not awaiting payment.", n=n, ref=row["reference"]))
            )
            continue
        if status == "paid":
            line.status, line.paid_reference, line.paid_at = (
                LineStatus.PAID,
                row["bank_reference"][:100],
                now,
            )
            result.paid += 1
        else:
            line.status, line.failure_reason = LineStatus.FAILED, row["message"][:500]
            result.failed += 1
    audit.record(
        session,
        actor=actor.username,
        action="fees.batch_returned",
        object_type="fee_payment_batch",
        object_id=batch.id,
        after={
            "paid": result.paid,
            "failed": result.failed,
            "unchanged": result.unchanged,
            "refused": len(result.refused),
        },
    )
    session.commit()
    return result


def mark_paid(session: Session, *, actor: User, line_id: int, reference: str) -> FeeLine:
    """Mark one payable line paid by hand with the payment's reference; audited; commits."""
    _staff(actor)
    line = session.get(FeeLine, line_id)
    if line is None or line.statement.centre_id != actor.centre_id:
        raise NotFound()
    clean = (reference or "").strip()
    if not 3 <= len(clean) <= 100:
        raise ValidationFailed(
            fields={"reference": str(_l("The payment's reference (3 to 100 characters)."))}
        )
    if line.kind is not LineKind.FEE or line.status not in (*PAYABLE, LineStatus.IN_BATCH):
        raise Conflict(str(_l("This line is not awaiting payment.")))
    line.status, line.paid_reference, line.paid_at = LineStatus.PAID, clean, utcnow()
    audit.record(
        session,
        actor=actor.username,
        action="fees.line_paid_by_hand",
        object_type="fee_line",
        object_id=line.id,
        after={"reference": clean},
    )
    session.commit()
    return line


def reconciliation(session: Session, actor: User) -> list[tuple[str, int, Decimal]]:
    """(status, lines, net yuan) of the actor's fee lines, by status."""
    _staff(actor)
    stmt = (
        select(FeeLine.status, func.count(FeeLine.id), func.coalesce(func.sum(FeeLine.net_fen), 0))
        .join(FeeStatement)
        .group_by(FeeLine.status)
    )
    stmt = stmt.where(_centre_filter(actor))
    return [(str(s), int(n), yuan(int(total))) for s, n, total in session.execute(stmt)]


def paid_at_text(value: datetime | None) -> str:
    """A payment time for display (ISO, minutes)."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""
