"""Tests of the console notifier: recording, masked logging and simulated answers."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest

from notify.base import (
    Channel,
    FailureKind,
    NotificationFailed,
    Notifier,
    TransientFailure,
    UnknownOutcome,
)
from notify.console import ConsoleNotifier
from notify.webhooks import CallStatus, GatherResult, Reply

NUMBER = "+8613812345678"


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_the_console_notifier_satisfies_the_notifier_protocol():
    assert isinstance(ConsoleNotifier(), Notifier)


def test_an_sms_is_recorded_and_handed_to_the_callback():
    recorded = []
    notifier = ConsoleNotifier(on_record=recorded.append)
    delivery = notifier.send_sms(NUMBER, "邀请 https://x/i/secret", status_callback="https://cb")
    assert delivery.provider == "console" and delivery.channel is Channel.SMS
    assert delivery.sid.startswith("SM") and len(delivery.sid) == 34
    [entry] = notifier.entries()
    assert (entry.to, entry.body, entry.status_callback) == (
        NUMBER,
        "邀请 https://x/i/secret",
        "https://cb",
    )
    assert recorded == [entry]
    assert notifier.fetch_message(delivery.sid).status == "sent"


def test_log_lines_hide_the_number_and_the_text(caplog):
    caplog.set_level(logging.INFO, logger="notify.console")
    notifier = ConsoleNotifier()
    notifier.send_sms(NUMBER, "邀请 https://x/i/secret-token")
    notifier.place_call(NUMBER, twiml_url="https://x/voice")
    assert len(caplog.records) == 2
    assert all(NUMBER not in r.getMessage() for r in caplog.records)
    assert all("secret-token" not in r.getMessage() for r in caplog.records)
    assert "+86138****5678" in caplog.records[0].getMessage()


def test_concurrent_sends_are_all_recorded_with_distinct_sequence_numbers():
    notifier = ConsoleNotifier()

    def send_many():
        for i in range(50):
            notifier.send_sms(NUMBER, f"m{i}")

    threads = [threading.Thread(target=send_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = notifier.entries()
    assert len(entries) == 400
    assert sorted(e.sequence for e in entries) == list(range(1, 401))
    assert len({e.sid for e in entries}) == 400


def test_a_call_answered_with_one_yields_the_events_a_provider_would_send():
    events = []
    notifier = ConsoleNotifier(on_event=events.append)
    call = notifier.place_call(NUMBER, twiml_url="https://x/voice")
    assert call.status == "ringing"
    returned = notifier.simulate_keypress(call.sid, "1")
    assert returned == events
    assert [type(e) for e in events] == [CallStatus, GatherResult, CallStatus]
    assert events[0].status == "in-progress" and not events[0].is_machine
    assert events[1].reply is Reply.ACCEPT
    assert events[2].status == "completed"
    assert notifier.fetch_call(call.sid).status == "completed"
    assert notifier.entry(call.sid).digits == ("1",)


def test_pressing_three_keeps_the_call_going():
    notifier = ConsoleNotifier()
    call = notifier.place_call(NUMBER, twiml="<Response/>")
    events = notifier.simulate_keypress(call.sid, "3")
    assert events[-1].reply is Reply.REPEAT
    assert notifier.fetch_call(call.sid).status == "in-progress"
    events = notifier.simulate_keypress(call.sid, "2")
    assert [type(e) for e in events] == [GatherResult, CallStatus]
    assert events[0].reply is Reply.DECLINE


def test_a_machine_answer_is_reported_as_a_machine_and_ends_the_call():
    notifier = ConsoleNotifier()
    call = notifier.place_call(NUMBER, twiml_url="https://x/voice")
    events = notifier.simulate_answer(call.sid, answered_by="machine_start")
    assert [e.status for e in events] == ["in-progress", "completed"]
    assert all(e.is_machine for e in events)


def test_an_unanswered_call_ends_with_no_answer():
    notifier = ConsoleNotifier()
    call = notifier.place_call(NUMBER, twiml_url="https://x/voice")
    [event] = notifier.simulate_call_end(call.sid, "no-answer")
    assert event.status == "no-answer"
    assert notifier.fetch_call(call.sid).is_final


def test_hanging_up_a_ringing_call_cancels_it():
    notifier = ConsoleNotifier()
    call = notifier.place_call(NUMBER, twiml_url="https://x/voice")
    assert notifier.hangup(call.sid).status == "canceled"


def test_an_sms_reply_is_understood():
    notifier = ConsoleNotifier()
    assert notifier.simulate_sms_reply(NUMBER, "２").reply is Reply.DECLINE
    assert notifier.simulate_sms_reply(NUMBER, "好的，我看看").reply is Reply.UNKNOWN


def test_an_sms_status_only_moves_forward():
    notifier = ConsoleNotifier()
    sms = notifier.send_sms(NUMBER, "x")
    notifier.simulate_sms_status(sms.sid, "undelivered", error_code=30003)
    notifier.simulate_sms_status(sms.sid, "sent")
    delivery = notifier.fetch_message(sms.sid)
    assert (delivery.status, delivery.error_code) == ("undelivered", 30003)


def test_recorded_sends_can_be_found_for_reconciliation():
    clock = FakeClock()
    notifier = ConsoleNotifier(clock=clock)
    notifier.send_sms(NUMBER, "old")
    clock.now += timedelta(minutes=5)
    since = clock.now
    new = notifier.send_sms(NUMBER, "new")
    notifier.send_sms("+8613900000000", "new")
    call = notifier.place_call(NUMBER, twiml_url="https://x/voice")
    assert [d.sid for d in notifier.find_messages(NUMBER, created_after=since)] == [new.sid]
    assert notifier.find_messages(NUMBER, created_after=since, body="other") == []
    assert [d.sid for d in notifier.find_calls(NUMBER, created_after=since)] == [call.sid]


def test_an_unknown_sid_is_refused():
    notifier = ConsoleNotifier()
    with pytest.raises(NotificationFailed) as info:
        notifier.fetch_call("CA" + "0" * 32)
    assert info.value.kind is FailureKind.REJECTED and info.value.http_status == 404


def test_a_call_needs_exactly_one_source_of_twiml():
    notifier = ConsoleNotifier()
    with pytest.raises(ValueError):
        notifier.place_call(NUMBER)
    with pytest.raises(ValueError):
        notifier.place_call(NUMBER, twiml_url="https://x", twiml="<Response/>")


def test_an_injected_transient_failure_is_raised_once_and_records_nothing():
    notifier = ConsoleNotifier()
    notifier.inject_failure(
        TransientFailure("busy", provider="console", retry_after_seconds=3.0), channel=Channel.SMS
    )
    call = notifier.place_call(NUMBER, twiml_url="https://x/voice")  # calls are unaffected
    with pytest.raises(TransientFailure):
        notifier.send_sms(NUMBER, "x")
    sms = notifier.send_sms(NUMBER, "x")
    assert [e.sid for e in notifier.entries()] == [call.sid, sms.sid]


def test_an_injected_unknown_outcome_can_leave_a_send_behind_for_reconciliation():
    clock = FakeClock()
    notifier = ConsoleNotifier(clock=clock)
    notifier.inject_failure(UnknownOutcome("timeout", provider="console"), is_created_anyway=True)
    with pytest.raises(UnknownOutcome):
        notifier.send_sms(NUMBER, "link-1")
    [found] = notifier.find_messages(NUMBER, created_after=clock.now, body="link-1")
    assert found.status == "sent"
