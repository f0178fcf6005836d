"""Fee rules as versioned data, per-session statements and their lines, adjustments, payment
batches and experts' bank accounts (encrypted).

Amounts are stored in fen (integers), never floats; services convert to `Decimal` yuan.
Statements are made only after the project's close, so their rows may name the expert.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, enum_column, utcnow
from expertpool.core.pii import EncryptedTable


class RuleKind(enum.StrEnum):
    """What a fee rule version holds: one scope's schedule, or the withholding tax rule."""

    SCHEDULE = "schedule"
    TAX = "tax"


class LineKind(enum.StrEnum):
    """A fee owed, or the reversal of a paid line (negative amounts, never paid out)."""

    FEE = "fee"
    REVERSAL = "reversal"


class LineStatus(enum.StrEnum):
    """Where a line stands in settlement; `paid` lines never change again."""

    UNPAID = "unpaid"
    IN_BATCH = "in_batch"
    PAID = "paid"
    FAILED = "failed"
    RECORDED = "recorded"  # a reversal line: an accounting record, not a payment


class AdjustmentStatus(enum.StrEnum):
    """A staff member's adjustment waits for a supervisor."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class FeeRuleVersion(Base):
    """One version of one scope's fee schedule, or of the tax rule, in force from a date (CST)."""

    __tablename__ = "fee_rule_version"
    __table_args__ = (UniqueConstraint("kind", "scope", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[RuleKind] = mapped_column(enum_column(RuleKind))
    scope: Mapped[str] = mapped_column(String(6))  # a region code; "" for the tax rule
    number: Mapped[int] = mapped_column(Integer)
    effective_on: Mapped[date] = mapped_column(Date)
    data_json: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(40))  # "file:<name>" or "admin"
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FeeStatement(Base):
    """What one session's experts are owed, made after the project's close."""

    __tablename__ = "fee_statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("evaluation_session.id"), unique=True)
    project_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    # The centre that settles it: the project's owner, else the host venue's centre.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), default=None, index=True)
    title: Mapped[str] = mapped_column(String(200))
    host_scope: Mapped[str] = mapped_column(String(6))
    payer_kind: Mapped[str] = mapped_column(String(20))
    payer_name: Mapped[str] = mapped_column(String(200))
    payer_code: Mapped[str] = mapped_column(String(18), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    evaluation_on: Mapped[date] = mapped_column(Date)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tax_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    lines: Mapped[list[FeeLine]] = relationship(
        back_populates="statement", order_by="FeeLine.id", cascade="all, delete-orphan"
    )


class FeeLine(Base):
    """One expert's fee for one session (or the reversal of such a line); net + tax = gross."""

    __tablename__ = "fee_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("fee_statement.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    expert_name: Mapped[str] = mapped_column(String(100))
    participant_id: Mapped[str] = mapped_column(String(40))
    is_leader: Mapped[bool] = mapped_column(default=False)
    venue_id: Mapped[str] = mapped_column(String(40), default="")
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    schedule_scope: Mapped[str] = mapped_column(String(6))
    schedule_number: Mapped[int] = mapped_column(Integer)
    duration_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    leader_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    allowances_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    adjustment_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    gross_fen: Mapped[int] = mapped_column(BigInteger)
    tax_fen: Mapped[int] = mapped_column(BigInteger)
    net_fen: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[LineKind] = mapped_column(enum_column(LineKind), default=LineKind.FEE)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("fee_line.id"), default=None)
    status: Mapped[LineStatus] = mapped_column(enum_column(LineStatus), default=LineStatus.UNPAID)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("fee_payment_batch.id"), default=None, index=True
    )
    paid_reference: Mapped[str] = mapped_column(String(100), default="")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    failure_reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    statement: Mapped[FeeStatement] = relationship(back_populates="lines")


class FeeAdjustment(Base):
    """A change to an unpaid line's amount: a reason, asked by staff, decided by a supervisor."""

    __tablename__ = "fee_adjustment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("fee_line.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # added to the gross; may be negative
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[AdjustmentStatus] = mapped_column(
        enum_column(AdjustmentStatus), default=AdjustmentStatus.PENDING
    )
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class PaymentBatch(Base):
    """Lines of one payer and period sent to the bank together."""

    __tablename__ = "fee_payment_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centre.id"), index=True)
    payer_name: Mapped[str] = mapped_column(String(200))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BankAccount(Base):
    """An expert's bank account for fees: bank and account number encrypted (personal data)."""

    __tablename__ = "fee_bank_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    bank_enc: Mapped[bytes] = mapped_column(LargeBinary)
    account_enc: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


PII_TABLES = (
    EncryptedTable(BankAccount, "fee_bank_account", {"bank_enc": "bank", "account_enc": "account"}),
)
"""Experts' bank accounts (for key rotation)."""
