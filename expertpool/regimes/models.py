"""Legal regimes, procurement methods and the versioned rule table (one row per rule value)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, utcnow


class LegalRegime(enum.StrEnum):
    """The law that governs a tender; each has its own rules."""

    TENDERING_LAW = "tendering_law"  # 招标投标法
    GOVERNMENT_PROCUREMENT = "government_procurement"  # 政府采购法
    LAND = "land"  # 土地使用权出让
    MINING_RIGHTS = "mining_rights"  # 矿业权出让
    STATE_ASSETS = "state_assets"  # 国有产权交易
    MEDICAL_CONSUMABLES = "medical_consumables"  # 医用耗材采购


class ProcurementMethod(enum.StrEnum):
    """How the purchase is made; which methods a regime has is part of the rules."""

    OPEN_TENDER = "open_tender"  # 公开招标
    INVITED_TENDER = "invited_tender"  # 邀请招标
    COMPETITIVE_NEGOTIATION = "competitive_negotiation"  # 竞争性谈判
    COMPETITIVE_CONSULTATION = "competitive_consultation"  # 竞争性磋商
    REQUEST_FOR_QUOTATION = "request_for_quotation"  # 询价
    SINGLE_SOURCE = "single_source"  # 单一来源
    FRAMEWORK_AGREEMENT = "framework_agreement"  # 框架协议


class RuleStatus(enum.StrEnum):
    """How far a rule's value was checked."""

    QUOTED = "quoted"  # quoted from the official text
    COMMONLY_CITED = "commonly_cited"  # as commonly cited, not checked against the official text
    LOCAL_PRACTICE = "local_practice"  # provincial or common practice, not a national text


ANY = "*"
"""A rule row for every regime or every method (the more specific row wins)."""


class RuleVersion(Base):
    """One complete version of the rule table, in force from its effective date (CST)."""

    __tablename__ = "rule_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    effective_on: Mapped[date] = mapped_column(Date)
    origin: Mapped[str] = mapped_column(String(20))  # "file:<name>" or "admin"
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    values: Mapped[list[RuleValue]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="RuleValue.id"
    )


class RuleValue(Base):
    """One rule's value for a regime and method (or `*`), with its source and status."""

    __tablename__ = "rule_value"
    __table_args__ = (UniqueConstraint("version_id", "regime", "method", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("rule_version.id", ondelete="CASCADE"), index=True
    )
    regime: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(64))
    value_json: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))

    version: Mapped[RuleVersion] = relationship(back_populates="values")
