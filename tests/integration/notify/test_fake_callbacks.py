"""The fake API drives signed callbacks into a small loopback webhook app built from notify/."""

import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from notify.voice import Invitation, answer_twiml, invitation_twiml, machine_twiml
from notify.webhooks import (
    Reply,
    advance,
    parse_call_status,
    parse_gather,
    parse_inbound_sms,
    parse_sms_status,
    parse_voice_prompt,
    validate_signature,
)
from tests.fakes.twilio_api import FAKE_AUTH_TOKEN, CallScript, http_transport, twilio_notifier_for

PUBLIC = "https://pool.example.gov.cn"
INVITATION = Invitation("李四", datetime(2025, 3, 5, 1, 30, tzinfo=UTC), "深圳分中心评标室")


class FakeWebhookApp:
    """A stand-in for the app's webhook routes, answering as expertpool/ will."""

    def __init__(self):
        self.answers = {}  # call SID -> Reply
        self.call_status = {}  # call SID -> status (advanced)
        self.answered_by = {}
        self.sms_status = {}
        self.inbound = []
        self.forged = 0
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = parse_qs(body)
                signed_url = PUBLIC + self.path
                if not validate_signature(
                    FAKE_AUTH_TOKEN, signed_url, params, self.headers.get("X-Twilio-Signature")
                ):
                    app.forged += 1
                    self._answer(403, "")
                    return
                self._answer(200, app.route(urlsplit(self.path).path, params))

            def _answer(self, status, text):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def route(self, path, params):
        if path == "/voice":
            prompt = parse_voice_prompt(params)
            if prompt.is_machine:
                return machine_twiml()
            return invitation_twiml(INVITATION, gather_url=PUBLIC + "/gather")
        if path == "/gather":
            result = parse_gather(params)
            if result.reply in {Reply.ACCEPT, Reply.DECLINE}:
                self.answers.setdefault(result.call_sid, result.reply)
            return answer_twiml(result.reply, prompt_url=PUBLIC + "/voice")
        if path == "/call-status":
            event = parse_call_status(params)
            self.call_status[event.call_sid] = advance(
                self.call_status.get(event.call_sid), event.status
            )
            if event.raw_answered_by:
                self.answered_by[event.call_sid] = event.answered_by
            return ""
        if path == "/sms-status":
            event = parse_sms_status(params)
            self.sms_status[event.message_sid] = (
                advance(self.sms_status.get(event.message_sid, (None,))[0], event.status),
                event.error_code,
            )
            return ""
        if path == "/sms-inbound":
            self.inbound.append(parse_inbound_sms(params))
            return "<Response/>"
        raise AssertionError(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def app():
    fake_app = FakeWebhookApp()
    yield fake_app
    fake_app.close()


@pytest.fixture
def transport(app):
    return http_transport(FAKE_AUTH_TOKEN, public_base_url=PUBLIC, internal_base_url=app.url)


def _call(notifier, number):
    return notifier.place_call(
        number, twiml_url=PUBLIC + "/voice", status_callback=PUBLIC + "/call-status"
    ).sid


def test_scripted_calls_reach_the_app_signed_and_end_as_scripted(fake_twilio_api, app, transport):
    notifier = twilio_notifier_for(fake_twilio_api)
    scripts = {
        "+8613800000001": "accept",
        "+8613800000002": "decline",
        "+8613800000003": "repeat",
        "+8613800000004": "invalid",
        "+8613800000005": "silence",
        "+8613800000006": "machine",
        "+8613800000007": "no-answer",
        "+8613800000008": "busy",
    }
    for number, outcome in scripts.items():
        fake_twilio_api.script_calls(number, outcome)
    sids = {number: _call(notifier, number) for number in scripts}
    played = fake_twilio_api.play_calls(transport)
    assert sorted(played) == sorted(sids.values())
    assert app.forged == 0
    answers = {number: app.answers.get(sid) for number, sid in sids.items()}
    assert answers == {
        "+8613800000001": Reply.ACCEPT,
        "+8613800000002": Reply.DECLINE,
        "+8613800000003": Reply.ACCEPT,
        "+8613800000004": Reply.ACCEPT,
        "+8613800000005": None,
        "+8613800000006": None,
        "+8613800000007": None,
        "+8613800000008": None,
    }
    finals = {number: app.call_status[sid] for number, sid in sids.items()}
    assert finals["+8613800000006"] == "completed"
    assert finals["+8613800000007"] == "no-answer"
    assert finals["+8613800000008"] == "busy"
    assert app.answered_by[sids["+8613800000006"]].value == "machine"
    assert notifier.fetch_call(sids["+8613800000007"]).status == "no-answer"


def test_a_machine_then_a_person_on_the_retry(fake_twilio_api, app, transport):
    notifier = twilio_notifier_for(fake_twilio_api)
    number = "+8613800000009"
    fake_twilio_api.script_calls(number, "machine", CallScript(digits=("1",)))
    first = _call(notifier, number)
    fake_twilio_api.play_calls(transport)
    second = _call(notifier, number)
    fake_twilio_api.play_calls(transport)
    assert first not in app.answers
    assert app.answers[second] is Reply.ACCEPT
    assert fake_twilio_api.play_calls(transport) == []  # nothing is played twice


def test_message_statuses_and_inbound_replies_reach_the_app(fake_twilio_api, app, transport):
    notifier = twilio_notifier_for(fake_twilio_api)
    ok = notifier.send_sms("+8613800000010", "邀请", status_callback=PUBLIC + "/sms-status")
    fake_twilio_api.report_messages(transport)
    bad = notifier.send_sms("+8613800000011", "邀请", status_callback=PUBLIC + "/sms-status")
    fake_twilio_api.report_messages(transport, status="undelivered", error_code=30003)
    fake_twilio_api.send_inbound_sms(
        transport, PUBLIC + "/sms-inbound", from_number="+8613800000010", body="2 有事"
    )
    assert app.sms_status[ok.sid] == ("delivered", None)
    assert app.sms_status[bad.sid] == ("undelivered", 30003)
    [reply] = app.inbound
    assert (reply.from_number, reply.reply) == ("+8613800000010", Reply.DECLINE)


def test_callbacks_signed_with_another_token_are_refused(fake_twilio_api, app):
    notifier = twilio_notifier_for(fake_twilio_api)
    fake_twilio_api.script_calls("+8613800000012", "accept")
    _call(notifier, "+8613800000012")
    forged = http_transport("not-the-token", public_base_url=PUBLIC, internal_base_url=app.url)
    fake_twilio_api.play_calls(forged)
    assert app.answers == {} and app.call_status == {}
    assert app.forged > 0
