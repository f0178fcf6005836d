"""Messages as kinds with parameters: the text Twilio and the console send is byte for byte the
text of `voice.py`; a template gets only its kind's variables; a message survives the outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import notify
from notify import Message, MessageKind, render_text, template_params
from notify.aliyun_adapter import parse_sms_report, parse_sms_up, parse_voice_report
from notify.messages import TEMPLATE_VARIABLES

STARTS = datetime(2026, 3, 5, 1, 30, tzinfo=UTC)
names = st.text(st.characters(categories=["Lo", "Lu", "Ll"]), min_size=1, max_size=8)
venues = st.text(st.characters(categories=["Lo", "Nd"]), min_size=1, max_size=12)
codes = st.none() | st.text("ABCDEFGHJKMNPQRSTUVWXYZ23456789", min_size=4, max_size=4)
languages = st.sampled_from(["zh", "en"])


@settings(max_examples=30, deadline=None)
@given(name=names, venue=venues, code=codes, lang=languages, hours=st.integers(0, 48))
def test_invitation_texts_are_the_same_as_before(
    name: str, venue: str, code: str | None, lang: str, hours: int
) -> None:
    language = "en" if lang == "en" else "zh"
    inv = notify.Invitation(
        name, STARTS, venue, reply_by=STARTS - timedelta(hours=hours), reply_code=code
    )
    link = "https://pool.example/i/abc"
    sms = Message.about(MessageKind.INVITATION, inv, language=language, link=link)
    assert render_text(Message.from_json(sms.to_json())) == notify.invitation_sms(
        inv, link=link, language=language
    )
    for kind, old in (
        (MessageKind.CONFIRMATION, notify.confirmation_sms),
        (MessageKind.RELEASE, notify.release_sms),
        (MessageKind.CALLED_OFF, notify.called_off_sms),
        (MessageKind.POSTPONEMENT, notify.postponement_sms),
    ):
        message = Message.about(kind, inv, language=language, contact="020-1234")
        assert render_text(message) == old(inv, contact="020-1234", language=language)
        assert set(template_params(message)) == set(TEMPLATE_VARIABLES[kind])


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_other_kinds_render_the_texts_of_voice_py(language: str) -> None:
    lang = "en" if language == "en" else "zh"
    inv = notify.Invitation("", STARTS, "一室", reply_code="KQ27")
    pairs = [
        (Message(MessageKind.HELP, {}, lang), notify.help_sms(lang)),
        (
            Message.which_invitation([inv, inv], code_unknown=True, language=lang),
            notify.which_invitation_sms([inv, inv], code_unknown=True, language=lang),
        ),
        (
            Message(
                MessageKind.CHECK_IN_CODE,
                {"code": "123456", "starts_at": STARTS.isoformat(), "venue": "一室"},
                lang,
            ),
            notify.check_in_code_sms("123456", starts_at=STARTS, venue="一室", language=lang),
        ),
        (
            Message(
                MessageKind.ACCOUNT_CODE, {"code": "1", "username": "e1", "minutes": "10"}, lang
            ),
            notify.account_code_sms("1", username="e1", minutes=10, language=lang),
        ),
        (
            Message(MessageKind.TERM_REMINDER, {"term_ends_on": "2027-01-31"}, lang),
            notify.term_reminder_sms(date(2027, 1, 31), lang),
        ),
        (
            Message(
                MessageKind.TRAINING_REMINDER,
                {"year": "2026", "hours": "4", "required": "16"},
                lang,
            ),
            notify.training_reminder_sms(2026, 4, 16, lang),
        ),
    ]
    for message, text in pairs:
        assert render_text(message) == text


def test_a_template_gets_the_link_only_where_it_declares_one_and_never_more() -> None:
    inv = notify.Invitation("张三", STARTS, "一室", reply_code="KQ27")
    message = Message.about(MessageKind.INVITATION, inv, link="https://x/i/t")
    assert "link" not in template_params(message)
    assert template_params(message, link_allowed=True)["link"] == "https://x/i/t"
    call = Message.about(MessageKind.INVITATION_CALL, inv)
    assert set(template_params(call)) == {"name", "time", "venue"}
    assert template_params(call)["time"] == "2026年3月5日（星期四）09:30"


def test_a_message_missing_a_parameter_is_refused() -> None:
    with pytest.raises(ValueError, match="contact"):
        Message(MessageKind.CONFIRMATION, {"name": "a", "starts_at": "x", "venue": "v"})


def test_pushed_replies_receipts_and_call_reports_become_webhook_events() -> None:
    (reply,) = parse_sms_up(
        [{"phone_number": "13800000001", "content": "1 KQ27", "sequence_id": 7, "dest_code": "1"}]
    )
    assert (reply.from_number, reply.reply, reply.code) == (
        "+8613800000001",
        notify.Reply.ACCEPT,
        "KQ27",
    )
    (receipt,) = parse_sms_report([{"biz_id": "9^0", "success": False, "phone_number": "138"}])
    assert (receipt.message_sid, receipt.status) == ("9^0", "undelivered")
    gather, status = parse_voice_report([{"call_id": "c1", "dtmf": "2", "status_code": "200000"}])
    assert isinstance(gather, notify.GatherResult) and gather.reply is notify.Reply.DECLINE
    assert isinstance(status, notify.CallStatus) and status.status == "completed"
    (missed,) = parse_voice_report([{"call_id": "c2", "status_code": "200005"}])
    assert isinstance(missed, notify.CallStatus) and missed.status == "no-answer"
    for bad in ({"a": 1}, [1], [{"content": "1"}]):
        with pytest.raises(notify.InvalidWebhook):
            parse_sms_up(bad)
