"""Every Socket.IO event × every kind of participant, walked through one session's lifecycle.

At each step the event is first sent by everyone who may not send it (each refusal is checked
by code and changes nothing), then by the one who may. Roles: the main venue's host ``h_gz``,
the secondary venue's host ``h_sz``, members ``e1``..``e4``/``r1`` (``e4`` and ``r1`` sit in
Shenzhen), the supervisor ``sup`` and a logged-in ``outsider``.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD
from tests.integration.room.conftest import BIDS, FORM, MEMBERS, Committee

pytestmark = pytest.mark.integration

STAFF_ONLY = {"e1": "not_allowed", "sup": "not_allowed", "outsider": "not_on_panel"}
MAIN_HOST_ONLY = {**STAFF_ONLY, "h_sz": "not_allowed"}
MEMBERS_ONLY = {
    "h_gz": "not_allowed",
    "h_sz": "not_allowed",
    "sup": "not_allowed",
    "outsider": "not_on_panel",
}


def check(
    c: Committee, event: str, allowed: str | None, denied: dict[str, str], **payload: Any
) -> dict[str, Any]:
    """Refusals first (state unchanged), then the allowed sender succeeds."""
    before = c.last_snapshot("sup")["seq"]
    for who, code in denied.items():
        ack = c.emit(who, event, **payload)
        assert not ack["ok"] and ack["error"]["code"] == code, (event, who, ack)
    assert c.last_snapshot("sup")["seq"] == before, f"a refused {event} changed the room"
    return c.ok(allowed, event, **payload) if allowed else {}


def test_each_event_is_authorised_per_role_on_every_call(committee: Committee) -> None:
    c = committee
    check(c, "set_bids", "h_gz", MAIN_HOST_ONLY, bids=BIDS)
    check(c, "set_form", "h_gz", MAIN_HOST_ONLY, form=FORM)
    check(c, "phase", "h_gz", MAIN_HOST_ONLY, action="open")
    check(c, "phase", "h_gz", MAIN_HOST_ONLY, action="start_check_in")
    e4 = c.pid("e4")
    check(
        c,
        "request_code",
        "h_sz",
        {"h_gz": "not_allowed", "e1": "not_allowed", "sup": "not_allowed"},
        member=e4,
    )
    code = c.console_code()
    check(
        c,
        "enter_code",
        "e4",
        {
            "h_sz": "not_allowed",
            "sup": "not_allowed",
            "e1": "check_in_code_expired",
            "outsider": "not_on_panel",
        },
        code=code,
    )
    check(
        c,
        "confirm_identity",
        "h_sz",
        {"h_gz": "not_allowed", "e4": "not_allowed", "sup": "not_allowed"},
        member=e4,
        seat="B-01",
    )
    check(
        c,
        "verify_in_person",
        "h_sz",
        {"h_gz": "not_allowed", "e4": "not_allowed", "sup": "not_allowed"},
        member=c.pid("r1"),
        seat="B-02",
        reason="no_signal",
    )
    for m in ("e1", "e2", "e3"):
        c.check_in(m)
    e3 = c.pid("e3")
    check(c, "replace_member", "h_gz", MAIN_HOST_ONLY, member=e3, reason="身体不适")
    check(
        c,
        "decide_removal",
        "sup",
        {
            "h_gz": "not_allowed",
            "h_sz": "not_allowed",
            "e1": "not_allowed",
            "outsider": "not_on_panel",
        },
        member=e3,
        decision="reject",
        reason="可以继续",
    )
    check(c, "phase", "h_gz", MAIN_HOST_ONLY, action="start_election")
    check(c, "vote", "e1", MEMBERS_ONLY, candidate="专家1")
    for m in ("e2", "e3", "e4", "r1"):
        c.ok(m, "vote", candidate="专家1")
    check(c, "phase", "h_gz", MAIN_HOST_ONLY, action="start_scoring")
    check(c, "enter_scores", "e1", MEMBERS_ONLY, scores={"B001": {"tech": "40"}})
    check(
        c,
        "scores",
        None,
        {
            "h_gz": "scores_hidden",
            "e1": "scores_hidden",
            "sup": "scores_hidden",
            "outsider": "not_on_panel",
        },
    )
    check(
        c, "chat", "e1", {"sup": "not_allowed", "outsider": "not_on_panel"}, text="请各位独立评分"
    )
    check(
        c,
        "pause",
        "h_sz",
        {"e1": "not_allowed", "sup": "not_allowed", "outsider": "not_on_panel"},
        reason="断网",
    )
    check(c, "resume", "h_gz", {"h_sz": "not_allowed", "e1": "not_allowed", "sup": "not_allowed"})
    low = {b: {"tech": "10", "service": "15"} for b in ("B001", "B002")}
    c.submit_all({"e2": low})
    flag = next(f for f in c.last_snapshot("e2")["flags"] if f["flag_id"])
    check(
        c,
        "explain_deviation",
        "e2",
        {"e1": "invalid_input", "h_gz": "not_allowed", "sup": "not_allowed"},
        flag_id=flag["flag_id"],
        explanation="技术方案不满足要求",
    )
    for f in c.last_snapshot("e2")["flags"]:
        if f["flag_id"] and f["status"] == "open":
            c.ok("e2", "explain_deviation", flag_id=f["flag_id"], explanation="技术方案不满足要求")
    check(c, "scores", "h_gz", {"outsider": "not_on_panel"})
    check(
        c,
        "phase",
        "e1",
        {"h_sz": "not_allowed", "e2": "not_allowed", "sup": "not_allowed"},
        action="finalise",
    )
    check(
        c,
        "amend_score",
        "e3",
        MEMBERS_ONLY,
        bidder="B001",
        item_id="tech",
        value="40.5",
        reason="arithmetic_error",
        note="录入笔误",
    )
    check(
        c,
        "phase",
        "h_gz",
        {"h_sz": "not_allowed", "e2": "not_allowed", "sup": "not_allowed"},
        action="start_signing",
    )
    digest = c.ok("e1", "report")["report_digest"]
    check(c, "sign", "e1", MEMBERS_ONLY, verdict="agree", report_digest=digest, password=PASSWORD)
    check(c, "record_refusal", "h_sz", {"e2": "not_allowed", "sup": "not_allowed"}, member=e4)
    assert c.emit("h_sz", "record_refusal", member=c.pid("e2"))["error"]["code"] == "not_allowed"
    for m in ("e2", "e3", "r1"):
        c.ok(m, "sign", verdict="agree", report_digest=digest, password=PASSWORD)
    check(c, "phase", "h_gz", MAIN_HOST_ONLY, action="archive")
    assert c.last_snapshot("sup")["phase"] == "archived"
    assert {s["member"] for s in c.last_snapshot("sup")["signatures"]} == {
        f"专家{n}" for n in range(1, 6)
    }
    assert len(MEMBERS) == 5
