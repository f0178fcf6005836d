"""Bad input the flow tests leave out: unknown SIDs on every webhook, stray keys, replies, busy
lines.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from expertpool.core.models import AuditEntry
from expertpool.notifications.models import (
    ContactAttempt,
    InvitationState,
    OutboxKind,
    OutboxMessage,
)
from tests.integration.notifications.conftest import PUBLIC_BASE_URL, FakeReplacements, TwilioTrial

pytestmark = pytest.mark.integration

UNKNOWN_CALL = "CA" + "9" * 32
UNKNOWN_SMS = "SM" + "9" * 32


def _count(trial: TwilioTrial, model: type) -> int:
    session = trial.session
    session.expire_all()
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_voice_prompt_for_an_unknown_call_hangs_up_and_records_nothing(
    trial: TwilioTrial,
) -> None:
    status, twiml = trial.transport()(
        PUBLIC_BASE_URL + "/webhooks/twilio/voice",
        {"CallSid": UNKNOWN_CALL, "CallStatus": "in-progress", "AnsweredBy": "human"},
    )
    assert status == 200 and "<Hangup" in twiml and "<Gather" not in twiml
    assert _count(trial, ContactAttempt) == 0


def test_an_sms_status_for_an_unknown_message_is_ignored(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()
    before = _count(trial, ContactAttempt)
    status, _ = trial.transport()(
        PUBLIC_BASE_URL + "/webhooks/twilio/sms-status",
        {
            "MessageSid": UNKNOWN_SMS,
            "MessageStatus": "undelivered",
            "ErrorCode": "30003",
            "To": phone,
        },
    )
    assert status == 200
    assert _count(trial, ContactAttempt) == before
    assert trial.reload(invitation).state is InvitationState.CALLING


def test_an_sms_from_a_number_with_no_open_invitation_changes_nothing_and_gets_no_help(
    trial: TwilioTrial,
) -> None:
    invitation = trial.invite()
    trial.dispatch()
    stranger = trial.new_number()
    trial.api.send_inbound_sms(
        trial.transport(), PUBLIC_BASE_URL + "/webhooks/twilio/sms", from_number=stranger, body="1"
    )
    assert trial.reload(invitation).state is InvitationState.CALLING
    assert _count(trial, OutboxMessage) == 2
    assert trial.dispatch().claimed == 0


@pytest.mark.parametrize("digits", ["0", "4", "9", "*", "#", "12"])
def test_a_key_other_than_1_to_3_replays_the_prompt_and_answers_nothing(
    trial: TwilioTrial, replacements: FakeReplacements, digits: str
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.dispatch()
    [call_sid] = trial.api.calls
    call = trial.api.calls[call_sid]
    gather_url = call["status_callback"].replace("call-status", "gather")
    status, twiml = trial.transport()(
        gather_url, {"CallSid": call_sid, "To": phone, "From": call["from"], "Digits": digits}
    )
    assert status == 200 and "/webhooks/twilio/voice" in twiml and "<Hangup" not in twiml
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.CALLING and stored.answered_at is None
    assert replacements.calls == []


def test_a_call_ringing_busy_is_not_an_answer_and_is_retried_later(trial: TwilioTrial) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "busy", "accept")
    trial.dispatch()
    trial.play()
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.CALLING
    [first] = [a for a in stored.attempts if a.channel.value == "voice"]
    assert first.status == "busy" and first.is_final and first.answered_by is None
    assert trial.dispatch().sent == 0  # the retry waits call_retry_minutes
    assert trial.dispatch(trial.later(trial.ctx.config.call_retry_minutes + 1)).sent == 1
    trial.play()
    stored = trial.reload(invitation)
    assert stored.state is InvitationState.ACCEPTED and stored.call_attempts == 2


def test_a_machine_then_a_person_on_the_retry_accepts_with_one_call_each(
    trial: TwilioTrial,
) -> None:
    phone = trial.new_number()
    invitation = trial.invite(phone)
    trial.api.script_calls(phone, "machine", "accept")
    trial.dispatch()
    trial.play()
    trial.dispatch(trial.later(trial.ctx.config.call_retry_minutes + 1))
    trial.play()
    stored = trial.reload(invitation)
    voice = [a for a in stored.attempts if a.channel.value == "voice"]
    assert [(a.answered_by, a.digits) for a in voice] == [("machine_start", ""), ("human", "1")]
    assert stored.state is InvitationState.ACCEPTED and stored.answered_via == "voice"
    assert len(trial.api.created("Calls")) == 2


def test_an_auth_failure_mid_pass_stops_sending_and_resumes_without_sending_twice(
    trial: TwilioTrial,
) -> None:
    phones = [trial.new_number() for _ in range(3)]
    invitations = [trial.invite(phone, rank=rank) for rank, phone in enumerate(phones, start=1)]
    # The first SMS goes out, then the provider refuses our credentials on the first call.
    trial.api.fail_next(resource="Calls", status=401, code=20003)
    report = trial.dispatch()
    assert report.is_auth_failed and report.sent == 1
    assert len(trial.api.created("Calls")) == 1 and len(trial.api.created("Messages")) == 1
    session = trial.session
    alerts = session.execute(
        select(AuditEntry).where(AuditEntry.action == "notify.provider_auth_failed")
    ).scalars()
    assert len(list(alerts)) == 1
    assert trial.dispatch(trial.later(0.5)).claimed == 0  # still paused
    report = trial.dispatch(trial.later(2))
    assert report.sent == 5 and not report.is_auth_failed
    accepted_sms = Counter(m["to"] for m in trial.api.messages.values())
    accepted_calls = Counter(c["to"] for c in trial.api.calls.values())
    assert accepted_sms == Counter(phones) and accepted_calls == Counter(phones)
    for invitation in invitations:
        kinds = Counter(m.kind for m in trial.messages(invitation))
        assert kinds == Counter({OutboxKind.INVITATION_SMS: 1, OutboxKind.INVITATION_CALL: 1})
        assert trial.reload(invitation).state is InvitationState.CALLING
