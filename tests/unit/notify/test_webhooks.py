"""Tests of callback parsing, signature validation, reply understanding and status ordering."""

import itertools
from functools import reduce
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from notify.webhooks import (
    STATUS_ORDER,
    AnsweredBy,
    InvalidWebhook,
    Reply,
    advance,
    classify_answered_by,
    parse_call_status,
    parse_digits,
    parse_gather,
    parse_inbound_sms,
    parse_reply,
    parse_sms_status,
    parse_voice_prompt,
    status_rank,
    validate_signature,
    webhook_url,
)

TOKEN = "test-token-0123456789"
URL = "https://pool.example.gov.cn/notify/call-status?attempt=42"


# -- replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1",
        "１",
        " 1 ",
        "1\n",
        "接受",
        "同意",
        "YES",
        "yes",
        "Y",
        "ok",
        "好的",
        "我参加",
        "1 好的",
        "接受。",
        "确认参加！",
    ],
)
def test_unambiguous_acceptances_are_understood(text):
    assert parse_reply(text) is Reply.ACCEPT


@pytest.mark.parametrize(
    "text",
    [
        "2",
        "２",
        " 2 ",
        "拒绝",
        "NO",
        "n",
        "2 有事",
        "2有事",
        "不参加",
        "我不参加",
        "不接受",
        "有事来不了",
        "不能参加，抱歉",
    ],
)
def test_unambiguous_declines_are_understood(text):
    assert parse_reply(text) is Reply.DECLINE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "3",
        "12",
        "21",
        "1 不参加",
        "2 接受",
        "好的，我看看",
        "什么事？",
        "maybe",
        "接受还是拒绝",
    ],
)
def test_ambiguous_or_unrelated_replies_are_unknown(text):
    assert parse_reply(text) is Reply.UNKNOWN


@pytest.mark.parametrize(
    ("digits", "reply"),
    [
        ("1", Reply.ACCEPT),
        ("2", Reply.DECLINE),
        ("3", Reply.REPEAT),
        ("4", Reply.UNKNOWN),
        ("", Reply.UNKNOWN),
        ("*", Reply.UNKNOWN),
        ("11", Reply.UNKNOWN),
    ],
)
def test_key_presses_map_to_replies(digits, reply):
    assert parse_digits(digits) is reply


# -- answering machines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "answerer"),
    [
        ("human", AnsweredBy.HUMAN),
        ("machine_start", AnsweredBy.MACHINE),
        ("machine_end_beep", AnsweredBy.MACHINE),
        ("machine_end_silence", AnsweredBy.MACHINE),
        ("machine_end_other", AnsweredBy.MACHINE),
        ("fax", AnsweredBy.MACHINE),
        ("unknown", AnsweredBy.UNKNOWN),
        (None, AnsweredBy.UNKNOWN),
    ],
)
def test_answering_machine_results_are_never_a_human(value, answerer):
    assert classify_answered_by(value) is answerer


# -- status ordering -------------------------------------------------------------------------


def test_status_moves_forward_and_ignores_late_earlier_statuses():
    assert advance("ringing", "in-progress") == "in-progress"
    assert advance("completed", "ringing") == "completed"
    assert advance("delivered", "sent") == "delivered"
    assert advance(None, "queued") == "queued"


def test_unknown_words_never_replace_a_known_status():
    assert advance("sent", "teleported") == "sent"
    assert advance(None, "teleported") is None
    assert advance("teleported", "sent") == "sent"


def test_status_words_are_compared_without_regard_to_case():
    assert advance("Ringing", "IN-PROGRESS") == "in-progress"


_statuses = st.sampled_from([*STATUS_ORDER, "bogus", None])


@settings(max_examples=200, deadline=None)
@given(callbacks=st.lists(_statuses, min_size=0, max_size=8), data=st.data())
def test_any_order_or_repetition_of_callbacks_ends_in_the_same_status(callbacks, data):
    shuffled = data.draw(st.permutations(callbacks))
    repeated = (
        shuffled + data.draw(st.lists(st.sampled_from(callbacks), max_size=4)) if callbacks else []
    )
    assert reduce(advance, shuffled, None) == reduce(advance, callbacks, None)
    assert reduce(advance, repeated, None) == reduce(advance, callbacks, None)


@settings(max_examples=200, deadline=None)
@given(old=_statuses, new=_statuses)
def test_advancing_never_lowers_the_rank(old, new):
    result = advance(old, new)
    assert status_rank(result) >= status_rank(old)
    assert status_rank(result) >= status_rank(new)


def test_a_typical_call_delivered_out_of_order_ends_completed():
    events = ["initiated", "ringing", "in-progress", "completed"]
    for permutation in itertools.permutations(events):
        assert reduce(advance, permutation, None) == "completed"


# -- signatures ------------------------------------------------------------------------------


def _sign(url, params):
    return RequestValidator(TOKEN).compute_signature(url, params)


def test_a_correctly_signed_callback_is_accepted():
    params = {"CallSid": "CA1", "CallStatus": "completed"}
    assert validate_signature(TOKEN, URL, params, _sign(URL, params))


def test_a_forged_signature_is_refused():
    params = {"CallSid": "CA1", "CallStatus": "completed"}
    assert not validate_signature(TOKEN, URL, params, "forged=")
    assert not validate_signature(TOKEN, URL, params, "")
    assert not validate_signature(TOKEN, URL, params, None)


def test_a_signature_for_other_parameters_is_refused():
    signature = _sign(URL, {"CallSid": "CA1", "CallStatus": "completed"})
    tampered = {"CallSid": "CA1", "CallStatus": "no-answer"}
    assert not validate_signature(TOKEN, URL, tampered, signature)


def test_a_signature_made_with_another_token_is_refused():
    params = {"Digits": "1", "CallSid": "CA1"}
    other = RequestValidator("another-token").compute_signature(URL, params)
    assert not validate_signature(TOKEN, URL, params, other)


def test_a_signature_is_checked_against_the_public_url_not_the_internal_one():
    params = {"CallSid": "CA1", "Digits": "1"}
    public = webhook_url("https://pool.example.gov.cn/", "/notify/gather?attempt=7")
    signature = _sign(public, params)
    assert public == "https://pool.example.gov.cn/notify/gather?attempt=7"
    assert validate_signature(TOKEN, public, params, signature)
    assert not validate_signature(
        TOKEN, "http://10.0.0.5:8000/notify/gather?attempt=7", params, signature
    )


def test_repeated_form_keys_are_signed_and_checked_in_every_container():
    pairs = [
        ("CallSid", "CA1"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
    ]
    multi = MultiDict(pairs)
    signature = _sign(URL, multi)
    assert validate_signature(TOKEN, URL, multi, signature)
    assert validate_signature(TOKEN, URL, parse_qs(urlencode(pairs)), signature)
    assert not validate_signature(
        TOKEN, URL, {"CallSid": "CA1", "StatusCallbackEvent": "ringing"}, signature
    )


# -- parsers ---------------------------------------------------------------------------------


def test_a_gather_callback_carries_the_digits_and_their_meaning():
    event = parse_gather(MultiDict({"CallSid": "CA1", "Digits": "2"}))
    assert (event.call_sid, event.digits, event.reply) == ("CA1", "2", Reply.DECLINE)


def test_a_gather_callback_without_digits_is_unknown():
    assert parse_gather({"CallSid": "CA1"}).reply is Reply.UNKNOWN


def test_a_call_status_callback_reports_a_machine_as_not_an_answer():
    event = parse_call_status(
        {
            "CallSid": "CA1",
            "CallStatus": "completed",
            "AnsweredBy": "machine_end_beep",
            "CallDuration": "12",
            "SequenceNumber": "3",
            "To": "+8613812345678",
        }
    )
    assert event.is_machine
    assert (event.status, event.duration_seconds, event.sequence_number) == ("completed", 12, 3)


def test_a_voice_prompt_request_tells_whether_a_machine_answered():
    human = parse_voice_prompt(
        {"CallSid": "CA1", "CallStatus": "in-progress", "AnsweredBy": "human"}
    )
    machine = parse_voice_prompt({"CallSid": "CA1", "AnsweredBy": "machine_start"})
    assert not human.is_machine
    assert machine.is_machine


def test_an_inbound_sms_is_parsed_with_its_reply():
    event = parse_inbound_sms(
        {"MessageSid": "SM1", "From": "+8613812345678", "To": "+15005550006", "Body": "2 有事"}
    )
    assert (event.from_number, event.body, event.reply) == (
        "+8613812345678",
        "2 有事",
        Reply.DECLINE,
    )


def test_an_sms_status_callback_carries_the_error_code():
    event = parse_sms_status(
        {"MessageSid": "SM1", "MessageStatus": "undelivered", "ErrorCode": "30003"}
    )
    assert (event.message_sid, event.status, event.error_code) == ("SM1", "undelivered", 30003)


def test_an_older_sms_status_callback_is_parsed_too():
    event = parse_sms_status({"SmsSid": "SM1", "SmsStatus": "sent"})
    assert (event.message_sid, event.status) == ("SM1", "sent")


@pytest.mark.parametrize(
    ("parser", "params"),
    [
        (parse_call_status, {"CallStatus": "completed"}),
        (parse_call_status, {"CallSid": "CA1"}),
        (parse_call_status, {"CallSid": "CA1", "CallStatus": "completed", "CallDuration": "x"}),
        (parse_gather, {"Digits": "1"}),
        (parse_inbound_sms, {"MessageSid": "SM1", "Body": "1"}),
        (parse_sms_status, {"MessageSid": "SM1"}),
        (parse_sms_status, {"MessageStatus": "sent"}),
        (parse_voice_prompt, {}),
    ],
)
def test_callbacks_missing_required_parameters_are_refused(parser, params):
    with pytest.raises(InvalidWebhook):
        parser(params)
