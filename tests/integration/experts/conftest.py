"""Fixtures for expert tests: valid application input, the cipher, ready-made applicants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from flask import Flask

from expertpool.core.pii import PiiCipher
from expertpool.experts import applications, evidence, identity

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + b"\x02\x00\x3e\x00" + b"\x00" * 100
EMPLOYER = identity.make_credit_code("91440101MA59ABCD0")
OTHER_ORG = identity.make_credit_code("91440300MA5F00001")


def valid_input(serial: int = 1, **overrides: Any) -> dict[str, Any]:
    """A complete, valid application."""
    data: dict[str, Any] = {
        "name": f"张{serial}",
        "id_number": identity.make_id_number("440103", date(1970, 3, 15), serial),
        "phone": f"1381234{serial:04d}",
        "email": f"e{serial}@example.cn",
        "title": "高级工程师",
        "title_level": "deputy_senior",
        "years_experience": 20,
        "specialties": ["A010102", "A0101"],
        "home_region": "440100",
        "employer_code": EMPLOYER,
        "employer_name": "广州某设计院有限公司",
        "employment": [
            {
                "org_code": OTHER_ORG,
                "org_name": "深圳某公司",
                "start_on": "2000-07-01",
                "end_on": "2015-06-30",
            }
        ],
        "avoidances": [{"org_code": OTHER_ORG, "org_name": "深圳某公司", "kind": "relative"}],
        "consent": True,
    }
    data.update(overrides)
    return data


@pytest.fixture()
def cipher(app: Flask) -> PiiCipher:
    """The app's personal-data cipher."""
    return PiiCipher.from_keys(app.extensions["expertpool"].keys)


@pytest.fixture()
def cfg(app: Flask) -> Any:
    """The app's settings."""
    return app.extensions["expertpool"].config


@pytest.fixture()
def applicant(
    app: Flask, db_session: Any, make_user: Callable[..., Any], cipher: PiiCipher, cfg: Any
) -> Callable[..., Any]:
    """Factory: an expert user with a saved (and optionally submitted) application; returns (user,
    expert).
    """
    counter = {"n": 0}

    def make(submit: bool = True, **overrides: Any) -> tuple[Any, Any]:
        counter["n"] += 1
        user = make_user(role="expert")
        expert = applications.ensure_record(db_session, user)
        applications.save_draft(
            db_session,
            cipher=cipher,
            config=cfg,
            actor=user,
            expert_id=expert.id,
            data=valid_input(counter["n"] + 100 * user.id, **overrides),
        )
        evidence.add_evidence(
            db_session,
            config=cfg,
            files=app.extensions["expertpool"].files,
            actor=user,
            expert_id=expert.id,
            filename="职称证书.pdf",
            data=PDF + str(user.id).encode(),
        )
        if submit:
            applications.submit(
                db_session, cipher=cipher, config=cfg, actor=user, expert_id=expert.id
            )
        return user, expert

    return make
