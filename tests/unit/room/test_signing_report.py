"""Signing with re-authentication, dissent and refusal; the report and its canonical digest."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest

from evaluation_room.errors import (
    AlreadySubmitted,
    DigestMismatch,
    IllegalTransition,
    InvalidInput,
    NotAllowed,
    ReauthenticationFailed,
)
from evaluation_room.model import Phase
from evaluation_room.report import canonical_json, digest
from tests.unit.room.support import MAIN_HOST, SECONDARY_HOST, SUPERVISOR, RoomDriver


def signing() -> RoomDriver:
    d = RoomDriver()
    d.to(Phase.SIGNING)
    return d


def sign(
    d: RoomDriver,
    member: str,
    verdict: str = "agree",
    reasons: str = "",
    password: str | None = None,
    report_digest: str | None = None,
) -> None:
    d.room.sign(
        member,
        verdict=verdict,
        reasons=reasons,
        report_digest=report_digest or d.room.report_digest or "",
        password=password if password is not None else f"pw-u_{member}",
        authenticator=d.auth,
    )


def test_signing_before_finalisation_is_refused() -> None:
    d = RoomDriver()
    d.to(Phase.DEVIATION_REVIEW)
    with pytest.raises(IllegalTransition):
        sign(d, "e1", report_digest="x")


def test_a_member_signs_the_report_digest_after_re_authenticating() -> None:
    d = signing()
    with pytest.raises(ReauthenticationFailed):
        sign(d, "e1", password="wrong")
    with pytest.raises(DigestMismatch):
        sign(d, "e1", report_digest="0" * 64)
    sign(d, "e1")
    with pytest.raises(AlreadySubmitted):
        sign(d, "e1")
    sig = d.room.to_state()["signatures"]["e1"]
    assert sig["report_digest"] == d.room.report_digest
    assert (sig["verdict"], sig["is_refusal"], sig["alias"]) == ("agree", False, "专家1")


def test_dissent_needs_written_reasons() -> None:
    d = signing()
    with pytest.raises(InvalidInput):
        sign(d, "e2", verdict="dissent", reasons=" ")
    with pytest.raises(InvalidInput):
        sign(d, "e2", verdict="maybe")
    sign(d, "e2", verdict="dissent", reasons="价格分计算有误")
    snap = d.room.snapshot("e1")
    assert snap["signatures"][0]["verdict"] == "dissent"
    assert snap["signatures"][0]["member"] == "专家2"


def test_a_refusal_without_a_reason_is_recorded_as_agreement() -> None:
    d = signing()
    with pytest.raises(NotAllowed):
        d.room.record_refusal("e1", "e2")
    with pytest.raises(NotAllowed):
        d.room.record_refusal(SECONDARY_HOST, "e1")  # e1 sits at the main venue
    d.room.record_refusal(SECONDARY_HOST, "e4")
    d.room.record_refusal(MAIN_HOST, "e1", "不同意排序")
    sigs = d.room.to_state()["signatures"]
    assert (sigs["e4"]["verdict"], sigs["e4"]["is_refusal"]) == ("agree", True)
    assert (sigs["e1"]["verdict"], sigs["e1"]["reasons"]) == ("dissent", "不同意排序")
    with pytest.raises(AlreadySubmitted):
        sign(d, "e4")


def test_archiving_needs_every_signature_and_records_the_final_digest() -> None:
    d = signing()
    sign(d, "e1")
    with pytest.raises(NotAllowed) as err:
        d.room.archive(MAIN_HOST)
    assert err.value.details["unsigned"] == ["专家2", "专家3", "专家4", "专家5"]
    d.sign_all()
    d.room.archive(MAIN_HOST)
    report = d.room.final_report()
    assert report["report_digest"] == d.room.final_report_digest
    assert report["body_digest"] == d.room.report_digest
    assert len(report["signatures"]) == 5
    recomputed = {k: v for k, v in report.items() if k != "report_digest"}
    assert digest(recomputed) == report["report_digest"]


def test_the_report_shows_scores_by_alias_aggregates_flags_and_no_names() -> None:
    d = RoomDriver()
    d.sheets = {"e1": {b: {"tech": "10", "service": "15"} for b in ("B001", "B002")}}
    d.to(Phase.DEVIATION_REVIEW)
    for f in d.room.snapshot("e1")["flags"]:
        d.room.explain_deviation("e1", f["flag_id"], "理由充分")
    d.to(Phase.SIGNING)
    body = d.room.report_body()
    blob = json.dumps(body, ensure_ascii=False)
    assert "姓名" not in blob and "u_e1" not in blob
    assert set(body["sheets"]) == {f"专家{i}" for i in range(1, 6)}
    assert body["sheets"]["专家1"]["scores"]["B001"]["tech"] == "10"
    assert body["results"]["candidates"] == ["B002", "B001"]
    assert {f["status"] for f in body["flags"]} == {"explained"}
    assert body["leader"] == "专家1"
    assert d.room.report_digest == hashlib.sha256(canonical_json(body)).hexdigest()


def test_the_report_digest_is_canonical_and_changes_with_any_score() -> None:
    a = {"b": [1, "2"], "a": {"y": "中", "x": Decimal("1.50")}}
    b = {"a": {"x": Decimal("1.50"), "y": "中"}, "b": [1, "2"]}
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == '{"a":{"x":"1.50","y":"中"},"b":[1,"2"]}'.encode()
    assert digest(a) != digest({**a, "b": [1, "3"]})
    with pytest.raises(TypeError):
        canonical_json({"score": 1.5})


def test_supervisors_cannot_sign_or_record_refusals() -> None:
    d = signing()
    with pytest.raises(NotAllowed):
        sign(d, SUPERVISOR)
    with pytest.raises(NotAllowed):
        d.room.record_refusal(SUPERVISOR, "e1")
