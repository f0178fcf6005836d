"""The record's tests start from the fees example: a remote session run to its room's close at
known times (Guangzhou main venue, Shenzhen secondary; D replaced midway; E checks in 12 minutes
after the start)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from expertpool.experts.models import Expert, ExpertSpecialty
from tests.integration.fees.conftest import DAY, ClosedSession, example

__all__ = ["DAY", "ClosedSession", "covered", "example", "expert_of"]


def covered(app: Flask) -> None:
    """Give every expert specialty A0101, so that the default department covers them."""
    session = app.extensions["expertpool"].sessions()
    for e in session.execute(select(Expert)).scalars():
        e.specialties = [ExpertSpecialty(code="A0101")]
    session.commit()


def expert_of(app: Flask, user: Any) -> Expert:
    """The expert record of an account."""
    session = app.extensions["expertpool"].sessions()
    return session.execute(select(Expert).where(Expert.user_id == user.id)).scalar_one()
