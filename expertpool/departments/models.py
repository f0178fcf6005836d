"""Departments and their members (reviewers and supervisors belong to exactly one)."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, enum_column


class DepartmentField(enum.StrEnum):
    """What a department supervises. What each field covers (specialties, project kinds) is data:
    `departments/data/departments-guangdong.json`."""

    COORDINATION = "coordination"  # 发展改革: guides and coordinates all tendering in its region
    HOUSING = "housing"  # 住房和城乡建设
    TRANSPORT = "transport"  # 交通运输
    WATER = "water"  # 水利
    PROCUREMENT = "procurement"  # 财政: government procurement
    NATURAL_RESOURCES = "natural_resources"  # 自然资源: land and mining rights
    STATE_ASSETS = "state_assets"  # 国有资产监督管理


class Department(Base):
    """A supervising department of the province or of one city."""

    __tablename__ = "department"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    field: Mapped[DepartmentField] = mapped_column(enum_column(DepartmentField))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    # Its unified social credit code (government bodies start with 11): experts employed there,
    # now or inside the look-back window, are never drawn for the projects it supervises.
    credit_code: Mapped[str | None] = mapped_column(String(18), default=None, index=True)

    members: Mapped[list[DepartmentMember]] = relationship(back_populates="department")


class DepartmentMember(Base):
    """A reviewer's or supervisor's department (one per account)."""

    __tablename__ = "department_member"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)

    department: Mapped[Department] = relationship(back_populates="members")
