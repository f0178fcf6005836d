"""Fixtures for the entry tests: the Guangdong entry rules, a fixed clock, applicants with a
known submission day, an organisation with a contact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from expertpool.experts import entry
from expertpool.organisations import directory
from tests.integration.experts.conftest import applicant, cfg, cipher, valid_input

GUANGDONG = entry.bundled_rules("guangdong")
# 2026-12-03 10:00 in China: a working Thursday inside the December batch.
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
ORG_CODE = "91440101MA59ABCD0"


@pytest.fixture()
def guangdong(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Run the app under the Guangdong entry rules at `NOW`; returns a setter of the clock."""
    st = app.extensions["expertpool"]
    monkeypatch.setattr(st, "config", st.config.replace(entry_rules="guangdong"))
    moment = {"now": NOW}
    monkeypatch.setattr(st, "clock", lambda: moment["now"])

    def set_now(value: datetime) -> None:
        moment["now"] = value

    return set_now


@pytest.fixture()
def submitted_on(db_session: Any) -> Callable[[Any, datetime], None]:
    """Pretend an application was submitted at a given moment."""

    def put(expert: Any, moment: datetime) -> None:
        expert.submitted_at = moment
        db_session.commit()

    return put


@pytest.fixture()
def contact(db_session: Any, make_user: Callable[..., Any]) -> Any:
    """The contact account of an employer (a design institute)."""
    from expertpool.experts import identity

    org = directory.save_organisation(
        db_session,
        actor="test",
        credit_code=identity.make_credit_code(ORG_CODE[:17]),
        name="广州某设计院有限公司",
        is_employer=True,
    )
    user = make_user(role="org_contact", username="contact-design")
    directory.set_contact(db_session, actor="test", username=user.username, organisation_id=org.id)
    return user


__all__ = ["applicant", "cfg", "cipher", "valid_input"]
