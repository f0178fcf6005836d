"""Applying: drafts, bad input refused field by field with nothing saved, evidence, submission."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from expertpool.core.errors import Forbidden, TransitionRefused, ValidationFailed
from expertpool.core.models import AuditEntry
from expertpool.experts import applications, evidence, identity, records
from expertpool.experts.models import ApplicationVersion, EvidenceFile, Expert, ExpertStatus
from tests.integration.experts.conftest import ELF, PDF, valid_input

pytestmark = pytest.mark.integration


def _draft(db_session: Any, make_user: Any) -> tuple[Any, Expert]:
    user = make_user(role="expert")
    return user, applications.ensure_record(db_session, user)


def _fresh(db_session: Any, expert_id: int) -> dict[str, Any]:
    db_session.expire_all()
    row = db_session.get(Expert, expert_id)
    return {
        "name": row.name,
        "id": row.id_number_bidx,
        "phone": row.phone_bidx,
        "specs": row.specialty_codes,
        "employment": len(row.employments),
        "version": row.version,
    }


BAD_INPUT = [
    (
        "id_number",
        {
            "id_number": identity.make_id_number(
                "440103", __import__("datetime").date(1970, 1, 1), 5
            )[:-1]
            + "0"
        },
    ),
    ("id_number", {"id_number": "44010319700231" + "1234"}),
    ("employer_code", {"employer_code": identity.make_credit_code("91440101MA59ABCD0")[:-1] + "1"}),
    ("phone", {"phone": "020-83331234"}),
    ("phone", {"phone": "+852 9123 4567"}),
    ("specialties", {"specialties": ["Z999999"]}),
    ("specialties", {"specialties": ["A01"]}),
    ("specialties", {"specialties": ["A"]}),
    ("specialties", {"specialties": ["A010101", "A010102", "A010103", "A010104"]}),
    ("title_level", {"title_level": "intermediate"}),
    ("years_experience", {"years_experience": 5}),
    (
        "employment.0.end_on",
        {
            "employment": [
                {
                    "org_code": identity.make_credit_code("91440101MA59ABCD0"),
                    "org_name": "x",
                    "start_on": "2010-01-01",
                    "end_on": "2009-01-01",
                }
            ]
        },
    ),
    (
        "avoidances.0.org_code",
        {"avoidances": [{"org_code": "123", "org_name": "x", "kind": "declared"}]},
    ),
]


@pytest.mark.parametrize(
    ("field", "bad"), BAD_INPUT, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_INPUT)]
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_saved(
    db_session: Any, make_user: Any, cipher: Any, cfg: Any, field: str, bad: dict[str, Any]
) -> None:
    user, expert = _draft(db_session, make_user)
    before = _fresh(db_session, expert.id)
    with pytest.raises(ValidationFailed) as info:
        applications.save_draft(
            db_session,
            cipher=cipher,
            config=cfg,
            actor=user,
            expert_id=expert.id,
            data=valid_input(9, **bad),
        )
    assert field in info.value.fields
    assert _fresh(db_session, expert.id) == before


def test_an_equivalent_professional_level_is_accepted_like_a_senior_title(
    db_session: Any, make_user: Any, cipher: Any, cfg: Any
) -> None:
    """The Tendering Law accepts 同等专业水平 (issue #16): the form must not refuse it."""
    user, expert = _draft(db_session, make_user)
    applications.save_draft(
        db_session,
        cipher=cipher,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data=valid_input(9, title_level="equivalent"),
    )
    db_session.expire_all()
    assert db_session.get(Expert, expert.id).title_level.value == "equivalent"


def test_submitting_with_missing_fields_lists_each_of_them(
    db_session: Any, make_user: Any, cipher: Any, cfg: Any
) -> None:
    user, expert = _draft(db_session, make_user)
    applications.save_draft(
        db_session,
        cipher=cipher,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data={"name": "李四", "email": "l@example.cn"},
    )
    with pytest.raises(ValidationFailed) as info:
        applications.submit(db_session, cipher=cipher, config=cfg, actor=user, expert_id=expert.id)
    assert {"id_number", "phone", "specialties", "employer_code", "consent", "evidence"} <= set(
        info.value.fields
    )
    db_session.expire_all()
    assert db_session.get(Expert, expert.id).status is ExpertStatus.DRAFT


def test_an_id_number_already_in_the_pool_is_stored_without_a_word(
    db_session: Any, applicant: Any, make_user: Any, cipher: Any, cfg: Any
) -> None:
    """No oracle of who is in the pool: see test_shared_id_number.py for what reviewers see."""
    _, first = applicant()
    taken = records.clear_pii(first, cipher)["id_number"]
    user, expert = _draft(db_session, make_user)
    applications.save_draft(
        db_session,
        cipher=cipher,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data=valid_input(50, id_number=taken),
    )
    assert _fresh(db_session, expert.id)["id"] == _fresh(db_session, first.id)["id"]
    assert records.find_by_id_number(db_session, cipher, taken).id == first.id
    assert [e.id for e in records.sharing_id_number(db_session, expert)] == [first.id]


def test_a_complete_application_is_submitted_with_a_kept_version(
    db_session: Any, applicant: Any, cipher: Any
) -> None:
    _user, expert = applicant()
    assert expert.status is ExpertStatus.SUBMITTED
    assert expert.birth_date.isoformat() == "1970-03-15"
    assert expert.specialty_codes == ["A0101", "A010102"]
    (version,) = records.versions(db_session, expert.id)
    snap = records.version(db_session, expert.id, 1)
    assert version.number == 1 and snap["status"] == "submitted"
    assert "*" in snap["id_number"] and "*" in snap["phone"]
    actions = set(db_session.execute(select(AuditEntry.action)).scalars())
    assert {"expert.create", "expert.save_draft", "expert.evidence", "expert.submit"} <= actions


def test_a_submitted_application_can_no_longer_be_edited(
    db_session: Any, applicant: Any, cipher: Any, cfg: Any
) -> None:
    user, expert = applicant()
    with pytest.raises(TransitionRefused):
        applications.save_draft(
            db_session,
            cipher=cipher,
            config=cfg,
            actor=user,
            expert_id=expert.id,
            data={"name": "改名"},
        )
    with pytest.raises(TransitionRefused):
        applications.submit(db_session, cipher=cipher, config=cfg, actor=user, expert_id=expert.id)


def test_someone_else_cannot_edit_an_application(
    db_session: Any, applicant: Any, make_user: Any, cipher: Any, cfg: Any
) -> None:
    _, expert = applicant(submit=False)
    intruder = make_user(role="expert")
    with pytest.raises(Forbidden):
        applications.save_draft(
            db_session,
            cipher=cipher,
            config=cfg,
            actor=intruder,
            expert_id=expert.id,
            data={"name": "x"},
        )


def test_raw_tables_hold_neither_id_numbers_nor_phones_in_clear(
    db_session: Any, applicant: Any, cipher: Any
) -> None:
    _, expert = applicant()
    pii = records.clear_pii(expert, cipher)
    digits = pii["phone"].lstrip("+")
    dump = []
    for table in ("expert", "application_version", "audit_entry", "review_decision"):
        for row in db_session.execute(text(f"SELECT * FROM {table}")):
            dump.append(
                " ".join(v.hex() if isinstance(v, bytes | memoryview) else str(v) for v in row)
            )
    blob = "\n".join(dump)
    assert pii["id_number"] not in blob and pii["id_number"][:14] not in blob
    assert digits not in blob and digits[2:] not in blob
    assert pii["id_number"].encode().hex() not in blob


def test_evidence_is_stored_encrypted_owner_only_under_its_hash_outside_the_database(
    app: Flask, db_session: Any, applicant: Any, cfg: Any
) -> None:
    import stat

    _, expert = applicant(submit=False)
    (row,) = db_session.execute(
        select(EvidenceFile).where(EvidenceFile.expert_id == expert.id)
    ).scalars()
    assert row.mime == "application/pdf"
    path = cfg.evidence_path / row.sha256
    at_rest = path.read_bytes()
    assert not at_rest.startswith(b"%PDF") and b"%PDF" not in at_rest  # sealed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.evidence_path.stat().st_mode) == 0o700
    clear = evidence.evidence_bytes(app.extensions["expertpool"].files, row)
    assert clear.startswith(b"%PDF") and hashlib.sha256(clear).hexdigest() == row.sha256


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("certificate.pdf", ELF),
        ("photo.png", PDF),
        ("notes.txt", b"just text, not a document"),
        ("big.pdf", PDF + b"0" * (64 * 1024)),
    ],
)
def test_mislabelled_unknown_or_oversized_evidence_is_refused(
    app: Flask, db_session: Any, make_user: Any, cfg: Any, name: str, data: bytes
) -> None:
    user, expert = _draft(db_session, make_user)
    small = cfg.replace(evidence_max_bytes=32 * 1024)
    with pytest.raises(ValidationFailed) as info:
        evidence.add_evidence(
            db_session,
            config=small,
            files=app.extensions["expertpool"].files,
            actor=user,
            expert_id=expert.id,
            filename=name,
            data=data,
        )
    assert "evidence" in info.value.fields
    assert db_session.execute(select(EvidenceFile)).first() is None


def test_versions_accumulate_across_resubmissions(
    db_session: Any, applicant: Any, make_user: Any, cipher: Any, cfg: Any
) -> None:
    from expertpool.experts import review

    user, expert = applicant()
    reviewer = make_user(role="reviewer")
    review.decide(
        db_session, reviewer=reviewer, expert_id=expert.id, decision="return", opinion="补充证书"
    )
    applications.save_draft(
        db_session,
        cipher=cipher,
        config=cfg,
        actor=user,
        expert_id=expert.id,
        data={"title": "教授级高级工程师", "title_level": "full_senior"},
    )
    applications.submit(db_session, cipher=cipher, config=cfg, actor=user, expert_id=expert.id)
    assert [v.number for v in records.versions(db_session, expert.id)] == [1, 2]
    assert records.version(db_session, expert.id, 1)["title"] == "高级工程师"
    assert records.version(db_session, expert.id, 2)["title"] == "教授级高级工程师"
    assert db_session.execute(select(ApplicationVersion)).all()
