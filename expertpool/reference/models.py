"""Reference data: the specialty classification and the regions."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from expertpool.core.db import Base


class Specialty(Base):
    """A code of the national evaluation-expert specialty classification."""

    __tablename__ = "specialty"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(16), index=True, default=None)
    level: Mapped[int] = mapped_column(Integer)
    is_retired: Mapped[bool] = mapped_column(Boolean, default=False)


class Region(Base):
    """An administrative region (GB/T 2260)."""

    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_code: Mapped[str | None] = mapped_column(String(6), default=None)
    level: Mapped[int] = mapped_column(Integer)
