"""Invitations end to end through the real twilio client, the loopback fake API and the webhook
routes.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from expertpool.core.db import utcnow
from expertpool.core.models import AuditEntry
from expertpool.notifications.models import (
    ContactAttempt,
    InvitationState,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from tests.fakes.twilio_api import CallScript, post_signed_webhook, sign_webhook
from tests.integration.notifications.conftest import (
    PUBLIC_BASE_URL,
    FakeReplacements,
    TwilioTrial,
    key_of,
)

pytestmark = pytest.mark.integration


def _attempts(trial: TwilioTrial, invitation_id: int) -> list[ContactAttempt]:
    session = trial.session
    session.expire_all()
    return list(
        session.execute(
            select(ContactAttempt)
            .where(ContactAttempt.invitation_id == invitation_id)
            .order_by(ContactAttempt.id)
        ).scalars()
    )


def test_an_invitation_sends_one_sms_and_one_call_with_machine_detection(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    report = trial.dispatch()
    assert report.sent == 2
    assert len(trial.api.created("Messages")) == 1
    [call] = trial.api.created("Calls")
    assert call.value("MachineDetection") == "Enable"
    assert call.value(
        "Url",
    ).startswith(PUBLIC_BASE_URL + "/webhooks/twilio/voice?m=")
    [body] = trial.bodies(phone)
    assert re.search(r"回复“1 [A-Z]{2}[2-9]{2}”接受", body) and PUBLIC_BASE_URL + "/i/" in body
    assert trial.reload(invitation).state is InvitationState.CALLING
    assert {m.status for m in trial.messages(invitation)} == {OutboxStatus.SENT}
    assert len(_attempts(trial, key_of(invitation))) == 2
    assert trial.dispatch().claimed == 0


def test_the_voice_prompt_reads_name_time_and_venue_and_gathers_one_digit(
    trial: TwilioTrial,
) -> None:
    trial.invite()
    trial.dispatch()
    [call_sid] = trial.api.calls
    call = trial.api.calls[call_sid]
    status, twiml = trial.transport()(
        call["url"],
        {"CallSid": call_sid, "CallStatus": "in-progress", "AnsweredBy": "human", "To": call["to"]},
    )
    assert status == 200
    root = ET.fromstring(twiml)
    gather = root.find("Gather")
    assert gather is not None and gather.get("numDigits") == "1"
    assert gather.get("action", "").startswith(PUBLIC_BASE_URL + "/webhooks/twilio/gather?m=")
    spoken = "".join(say.text or "" for say in root.iter("Say"))
    assert "李四" in spoken and "广州主场评标室" in spoken and "按1" in spoken


def test_pressing_1_accepts_and_sends_a_confirmation_sms(
    trial: TwilioTrial, replacements: FakeReplacements
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "accept")
    trial.dispatch()
    trial.play()
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.ACCEPTED and stored.answered_via == "voice"
    assert trial.dispatch().sent == 1
    confirmation = trial.bodies(phone)[-1]
    assert "评标确认" in confirmation and trial.ctx.config.centre_contact_phone in confirmation
    call_attempt = next(
        a for a in _attempts(trial, key_of(invitation)) if a.channel.value == "voice"
    )
    assert call_attempt.digits == "1" and call_attempt.answered_by == "human"
    assert call_attempt.status == "completed"
    assert replacements.calls == []


def test_pressing_2_declines_and_asks_for_exactly_one_replacement(
    trial: TwilioTrial, replacements: FakeReplacements
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "decline")
    trial.dispatch()
    trial.play()
    assert trial.reload(invitation).state is InvitationState.DECLINED
    assert replacements.calls == [(key_of(invitation), "declined")]
    assert trial.dispatch().sent == 0


def test_the_default_replacement_handler_records_the_request_in_the_audit_trail(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "decline")
    trial.dispatch()
    trial.play()
    entry = trial.session.execute(
        select(AuditEntry).where(AuditEntry.action == "invitation.replacement_requested")
    ).scalar_one()
    assert entry.object_id == str(key_of(invitation))
    assert json.loads(entry.after)["reason"] == "declined"
    assert "李四" not in entry.after and phone not in entry.after


def test_silence_past_the_deadline_is_no_response(
    trial: TwilioTrial, replacements: FakeReplacements
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "silence")
    trial.dispatch()
    trial.play()
    assert trial.reload(invitation).state is InvitationState.CALLING
    retry = trial.messages(invitation)[-1]
    assert retry.kind is OutboxKind.INVITATION_CALL and retry.status is OutboxStatus.PENDING
    deadline = trial.ctx.config.response_deadline_minutes
    report = trial.dispatch(trial.later(deadline + 1))
    assert report.expired == 1
    assert trial.reload(invitation).state is InvitationState.NO_RESPONSE
    assert replacements.calls == [(key_of(invitation), "no_response")]
    assert trial.messages(invitation)[-1].status is OutboxStatus.CANCELLED
    assert len(trial.api.created("Calls")) == 1


def test_an_answering_machine_is_not_an_answer_and_the_call_is_retried(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "machine", "accept")
    trial.dispatch()
    trial.play()
    assert trial.reload(invitation).state is InvitationState.CALLING
    first = next(a for a in _attempts(trial, key_of(invitation)) if a.channel.value == "voice")
    assert first.answered_by == "machine_start" and first.digits == ""
    assert trial.dispatch().sent == 0  # the retry waits call_retry_minutes
    report = trial.dispatch(trial.later(trial.ctx.config.call_retry_minutes + 1))
    assert report.sent == 1
    trial.play()
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.ACCEPTED and stored.call_attempts == 2


def test_calls_stop_after_the_configured_retries(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "no-answer", "busy", "no-answer", "no-answer", "no-answer")
    minutes = trial.ctx.config.call_retry_minutes
    for step in range(6):
        trial.dispatch(trial.later(step * (minutes + 1)))
        trial.play()
    assert len(trial.api.created("Calls")) == 1 + trial.ctx.config.call_retries
    assert trial.reload(invitation).call_attempts == 1 + trial.ctx.config.call_retries


def test_a_rate_limited_send_backs_off_and_then_succeeds_once(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.fail_next(resource="Messages", status=429, code=20429, retry_after="30")
    now = utcnow()
    report = trial.dispatch(now)
    assert report.retried == 1 and report.sent == 1  # the call went through
    sms = trial.messages(invitation)[0]
    assert sms.status is OutboxStatus.PENDING and sms.attempts == 1 and sms.last_error_code == 20429
    assert sms.next_attempt_at >= now + timedelta(seconds=30)
    assert trial.dispatch(now + timedelta(seconds=5)).claimed == 0
    assert trial.dispatch(now + timedelta(seconds=31)).sent == 1
    assert len(trial.bodies(phone)) == 1
    assert len(trial.api.created("Messages")) == 2  # the refused request and the accepted one


def test_a_timeout_is_marked_unknown_then_reconciled_and_never_sent_twice(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.hang_next(seconds=3, resource="Messages", is_created_anyway=True)
    report = trial.dispatch()
    assert report.unknown == 1
    sms = trial.messages(invitation)[0]
    assert sms.status is OutboxStatus.UNKNOWN and sms.provider_sid is None
    report = trial.dispatch(trial.later(1))
    assert report.reconciled == 1
    sms = trial.messages(invitation)[0]
    [created_sid] = [sid for sid, m in trial.api.messages.items() if m["to"] == phone]
    assert sms.status is OutboxStatus.SENT and sms.provider_sid == created_sid and sms.attempts == 1
    trial.dispatch(trial.later(2))
    assert len(trial.api.created("Messages")) == 1


def test_a_timeout_before_anything_was_created_is_sent_again_after_checking(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.hang_next(seconds=3, resource="Calls", is_created_anyway=False)
    assert trial.dispatch().unknown == 1
    trial.dispatch(trial.later(1))  # reconcile: nothing there, so it may go again
    trial.dispatch(trial.later(1))
    assert len([c for c in trial.api.calls.values() if c["to"] == phone]) == 1
    call = next(m for m in trial.messages(invitation) if m.kind is OutboxKind.INVITATION_CALL)
    assert call.status is OutboxStatus.SENT


def test_repeated_and_reordered_callbacks_only_move_state_forward(
    trial: TwilioTrial, replacements: FakeReplacements
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "accept")
    trial.dispatch()
    [call_sid] = trial.play()
    send = trial.transport()
    call = trial.api.calls[call_sid]
    base = {"CallSid": call_sid, "To": phone, "From": call["from"]}
    status_url = call["status_callback"]
    gather_url = status_url.replace("call-status", "gather")
    for params in (
        {**base, "CallStatus": "ringing"},
        {**base, "CallStatus": "in-progress"},
        {**base, "CallStatus": "completed"},
    ):
        assert send(status_url, params)[0] == 200
    assert send(gather_url, {**base, "Digits": "2"})[0] == 200
    assert send(gather_url, {**base, "Digits": "1"})[0] == 200
    assert trial.reload(invitation).state is InvitationState.ACCEPTED
    attempt = next(a for a in _attempts(trial, key_of(invitation)) if a.sid == call_sid)
    assert attempt.status == "completed"
    assert [s for _, s in json.loads(attempt.status_history)].count("completed") == 1
    confirmations = [m for m in trial.messages(invitation) if m.kind is OutboxKind.CONFIRMATION_SMS]
    assert len(confirmations) == 1
    assert len(trial.api.created("Calls")) == 1  # a repeated "completed" schedules no new call
    assert replacements.calls == []
    # SMS status callbacks out of order: delivered stays delivered.
    [sms_sid] = [sid for sid, m in trial.api.messages.items() if m["to"] == phone]
    sms_url = PUBLIC_BASE_URL + "/webhooks/twilio/sms-status"
    for status in ("delivered", "sent", "queued", "delivered"):
        send(sms_url, {"MessageSid": sms_sid, "MessageStatus": status, "To": phone})
    sms_attempt = next(a for a in _attempts(trial, key_of(invitation)) if a.sid == sms_sid)
    assert sms_attempt.status == "delivered"


def test_callbacks_for_unknown_sids_are_ignored(trial: TwilioTrial) -> None:
    send = trial.transport()
    status, _ = send(
        PUBLIC_BASE_URL + "/webhooks/twilio/call-status",
        {"CallSid": "CA" + "0" * 32, "CallStatus": "completed"},
    )
    assert status == 200
    status, twiml = send(
        PUBLIC_BASE_URL + "/webhooks/twilio/gather", {"CallSid": "CA" + "1" * 32, "Digits": "1"}
    )
    assert status == 200 and "<Hangup" in twiml
    assert trial.session.execute(select(func.count()).select_from(ContactAttempt)).scalar_one() == 0


@pytest.mark.parametrize("path", ["voice", "gather", "call-status", "sms", "sms-status"])
def test_a_forged_or_missing_signature_gets_403_and_an_audit_entry(
    trial: TwilioTrial, path: str
) -> None:
    client = trial.app.test_client()
    url = f"{PUBLIC_BASE_URL}/webhooks/twilio/{path}"
    params = {
        "CallSid": "CA" + "2" * 32,
        "Digits": "1",
        "CallStatus": "completed",
        "MessageSid": "SM1",
        "From": "+8613800000000",
        "Body": "1",
        "MessageStatus": "delivered",
    }
    forged = sign_webhook("not-the-token", url, params)
    unsigned = client.post(f"/webhooks/twilio/{path}", data=params, base_url=PUBLIC_BASE_URL)
    wrong = client.post(
        f"/webhooks/twilio/{path}",
        data=params,
        base_url=PUBLIC_BASE_URL,
        headers={"X-Twilio-Signature": forged},
    )
    tampered = client.post(
        f"/webhooks/twilio/{path}",
        data={**params, "Digits": "2"},
        base_url=PUBLIC_BASE_URL,
        headers={"X-Twilio-Signature": sign_webhook(trial.api.auth_token, url, params)},
    )
    assert [r.status_code for r in (unsigned, wrong, tampered)] == [403, 403, 403]
    entries = (
        trial.session.execute(
            select(AuditEntry).where(AuditEntry.action == "webhook.signature_invalid")
        )
        .scalars()
        .all()
    )
    assert len(entries) == 3 and entries[0].object_id == f"/webhooks/twilio/{path}"


def test_a_signature_for_the_internal_url_is_refused_behind_the_proxy(trial: TwilioTrial) -> None:
    params = {"CallSid": "CA" + "3" * 32, "CallStatus": "completed"}
    internal = "http://127.0.0.1:5000/webhooks/twilio/call-status"
    response = trial.app.test_client().post(
        "/webhooks/twilio/call-status",
        data=params,
        headers={"X-Twilio-Signature": sign_webhook(trial.api.auth_token, internal, params)},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("body", "state"),
    [
        (" 1 ", InvitationState.ACCEPTED),
        ("好的", InvitationState.ACCEPTED),
        ("2 有事", InvitationState.DECLINED),
        ("Y", InvitationState.ACCEPTED),
    ],
)
def test_an_sms_reply_answers_the_invitation(
    trial: TwilioTrial, body: str, state: InvitationState
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()
    trial.api.send_inbound_sms(
        trial.transport(), PUBLIC_BASE_URL + "/webhooks/twilio/sms", from_number=phone, body=body
    )
    stored = trial.reload(invitation)
    assert stored.state is state and stored.answered_via == "sms"


def test_an_unclear_sms_reply_gets_one_help_sms_and_changes_nothing(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()
    send = trial.transport()
    url = PUBLIC_BASE_URL + "/webhooks/twilio/sms"
    params = {
        "MessageSid": "SM" + "4" * 32,
        "From": phone,
        "To": "+15005550006",
        "Body": "几点开始？",
    }
    send(url, params)
    send(url, params)  # a repeated callback
    assert trial.reload(invitation).state is InvitationState.CALLING
    trial.dispatch()
    assert "未能识别" in trial.bodies(phone)[-1]
    assert sum("未能识别" in b for b in trial.bodies(phone)) == 1


def test_an_invalid_number_is_unreachable_and_brings_a_replacement(
    trial: TwilioTrial, replacements: FakeReplacements
) -> None:
    phone = trial.new_number()
    trial.api.reject_number(phone, 21211)
    invitation = trial.invite(phone)
    report = trial.dispatch()
    assert report.failed >= 1
    assert trial.reload(invitation).state is InvitationState.UNREACHABLE
    assert replacements.calls == [(key_of(invitation), "unreachable")]
    assert {m.status for m in trial.messages(invitation)} <= {
        OutboxStatus.FAILED,
        OutboxStatus.CANCELLED,
    }


def test_an_authentication_failure_stops_sending_raises_an_alert_and_loses_nothing(
    trial: TwilioTrial,
) -> None:
    first, second = trial.new_number(), trial.new_number()
    trial.invite(first, rank=1)
    trial.invite(second, rank=2)
    trial.api.fail_next(status=401, code=20003)
    report = trial.dispatch()
    assert report.is_auth_failed and report.sent == 0
    assert (
        trial.session.execute(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "notify.provider_auth_failed")
        ).scalar_one()
        == 1
    )
    assert trial.dispatch().claimed == 0  # paused
    report = trial.dispatch(trial.later(2))
    assert report.sent == 4
    assert len(trial.bodies(first)) == 1 and len(trial.bodies(second)) == 1


def test_a_worker_that_died_mid_send_leaves_a_message_that_is_reconciled_not_resent(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.hang_next(seconds=3, resource="Messages", is_created_anyway=True)
    trial.dispatch()
    # Simulate a claim left behind by a dead worker: status sending, an old lock.
    session = trial.session
    sms = session.get(OutboxMessage, trial.messages(invitation)[0].id)
    sms.status, sms.locked_by, sms.locked_at = (
        OutboxStatus.SENDING,
        "dead",
        utcnow() - timedelta(minutes=5),
    )
    session.commit()
    report = trial.dispatch(trial.later(1))
    assert report.reconciled == 1
    assert len(trial.api.created("Messages")) == 1


def test_the_one_time_link_accepts_once_and_then_stops_working(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()
    link = next(w for w in trial.bodies(phone)[0].split("：") if "/i/" in w).strip()
    path = link[len(PUBLIC_BASE_URL) :]
    client = trial.app.test_client()
    page = client.get(path)
    assert page.status_code == 200 and "广州主场评标室" in page.get_data(as_text=True)
    trial.app.config["WTF_CSRF_ENABLED"] = False
    try:
        assert client.post(path, data={"answer": "accept"}).status_code == 200
        assert trial.reload(invitation).state is InvitationState.ACCEPTED
        assert client.post(path, data={"answer": "decline"}).status_code == 404
    finally:
        trial.app.config["WTF_CSRF_ENABLED"] = True
    assert client.get(path).status_code == 404
    assert trial.reload(invitation).state is InvitationState.ACCEPTED


def test_nothing_is_written_when_the_callers_transaction_rolls_back(trial: TwilioTrial) -> None:
    from expertpool.notifications import invitations

    session = trial.session
    invitations.enqueue_invitation(
        session,
        draw_id="D-rollback",
        group_id="G",
        expert_id=1,
        rank=1,
        phone=trial.new_number(),
        expert_name="王五",
        starts_at=utcnow() + timedelta(days=2),
        venue="深圳",
        ctx=trial.ctx,
    )
    session.rollback()
    assert session.execute(select(func.count()).select_from(OutboxMessage)).scalar_one() == 0
    assert trial.dispatch().claimed == 0


def test_an_accepted_expert_can_withdraw_with_a_reason_and_is_replaced(
    trial: TwilioTrial, replacements: FakeReplacements
) -> None:
    from expertpool.core.errors import TransitionRefused
    from expertpool.notifications import invitations

    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "accept")
    trial.dispatch()
    trial.play()
    session = trial.session
    invitations.withdraw(session, key_of(invitation), reason="生病", actor="expert1", ctx=trial.ctx)
    session.commit()
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.WITHDRAWN and stored.withdrawal_reason == "生病"
    assert replacements.calls == [(key_of(invitation), "withdrawn")]
    with pytest.raises(TransitionRefused):
        invitations.withdraw(
            session, key_of(invitation), reason="again", actor="expert1", ctx=trial.ctx
        )
    session.rollback()


def test_post_signed_webhook_reaches_a_live_server(trial: TwilioTrial, live_server: object) -> None:
    """The same routes over real loopback HTTP (as Twilio would call them behind a proxy)."""
    phone = trial.new_number()
    trial.invite(phone)
    trial.dispatch()
    [call_sid] = trial.api.calls
    url = trial.api.calls[call_sid]["url"]
    internal = url.replace(PUBLIC_BASE_URL, live_server.url)  # type: ignore[attr-defined]
    status, twiml = post_signed_webhook(
        internal,
        {"CallSid": call_sid, "CallStatus": "in-progress", "AnsweredBy": "human"},
        signed_url=url,
    )
    assert status == 200 and "<Gather" in twiml
    assert CallScript.named("accept").digits == ("1",)


def test_at_most_one_call_per_invitation_is_live(trial: TwilioTrial) -> None:
    from expertpool.notifications.models import InvitationRecord

    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()  # the first call is queued at the provider and not finished
    session = trial.session
    stored = session.get(InvitationRecord, key_of(invitation))
    from expertpool.notifications import callbacks

    assert callbacks.schedule_call_retry(session, stored, now=utcnow(), ctx=trial.ctx) is not None
    session.commit()
    report = trial.dispatch(trial.later(trial.ctx.config.call_retry_minutes + 1))
    assert report.postponed == 1 and report.sent == 0
    assert len(trial.api.created("Calls")) == 1


def test_invitation_states_never_return_to_an_earlier_one() -> None:
    from expertpool.notifications.models import INVITATION_MOVES, InvitationState

    def reachable(start: InvitationState) -> set[InvitationState]:
        seen: set[InvitationState] = set()
        todo = list(INVITATION_MOVES[start])
        while todo:
            state = todo.pop()
            if state not in seen:
                seen.add(state)
                todo.extend(INVITATION_MOVES[state])
        return seen

    for state in InvitationState:
        assert state not in reachable(state)
    assert reachable(InvitationState.QUEUED) == set(InvitationState) - {InvitationState.QUEUED}


def test_a_wrong_key_replays_the_prompt_and_a_following_1_accepts(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "invalid")
    trial.dispatch()
    trial.play()
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.ACCEPTED
    assert (
        next(a for a in _attempts(trial, key_of(invitation)) if a.channel.value == "voice").digits
        == "91"
    )


def test_unclear_replies_get_at_most_three_help_sms(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()
    for n in range(5):
        trial.api.send_inbound_sms(
            trial.transport(),
            PUBLIC_BASE_URL + "/webhooks/twilio/sms",
            from_number=phone,
            body=f"请问地址{n}？",
        )
    help_messages = [m for m in trial.messages(invitation) if m.kind is OutboxKind.HELP_SMS]
    assert len(help_messages) == 3


def _sms(trial: TwilioTrial, phone: str, body: str) -> None:
    trial.api.send_inbound_sms(
        trial.transport(), PUBLIC_BASE_URL + "/webhooks/twilio/sms", from_number=phone, body=body
    )


def test_a_reply_code_says_which_of_several_open_invitations_is_answered(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    first = trial.invite(phone, draw_id="D-A")
    second = trial.invite(phone, draw_id="D-B")
    trial.dispatch()
    codes = {trial.reload(first).reply_code, trial.reload(second).reply_code}
    assert None not in codes and len(codes) == 2  # unique among the phone's open invitations
    sent = trial.bodies(phone)
    assert any(f"“1 {trial.reload(second).reply_code}”" in b for b in sent)

    # A bare "1" names neither: a question comes back, listing both codes; nothing is guessed.
    _sms(trial, phone, "1")
    assert trial.reload(first).state is InvitationState.CALLING
    assert trial.reload(second).state is InvitationState.CALLING
    trial.dispatch()
    question = trial.bodies(phone)[-1]
    assert "多个待答复" in question and all(c in question for c in codes if c)

    # A code that matches none of them: asked again, with the codes.
    _sms(trial, phone, "1 ZZ99")
    trial.dispatch()
    assert "未能识别您回复中的代码" in trial.bodies(phone)[-1]
    assert trial.reload(second).state is InvitationState.CALLING

    # With the second's code (in lower case, full width, before the digit) it is answered alone.
    code = trial.reload(second).reply_code or ""
    _sms(trial, phone, code.lower().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}) + " 2")
    assert trial.reload(second).state is InvitationState.DECLINED
    assert trial.reload(first).state is InvitationState.CALLING
    # Now one is open: a bare reply answers it.
    _sms(trial, phone, "1")
    assert trial.reload(first).state is InvitationState.ACCEPTED
