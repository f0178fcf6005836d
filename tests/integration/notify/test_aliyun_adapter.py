"""The Alibaba Cloud adapter with the official SDKs against the loopback fake: signed requests,
templates, errors mapped to the kinds of `notify.base`, and the pull of receipts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import notify
from notify import FailureKind, Message, MessageKind
from notify.aliyun_fake import FakeAliyunApi, aliyun_notifier_for

pytestmark = pytest.mark.integration
TO = "+8613900001234"
INV = notify.Invitation(
    "张三", datetime(2026, 12, 5, 1, 0, tzinfo=UTC), "广州评标室", reply_code="KQ27"
)


@pytest.fixture()
def api() -> Iterator[FakeAliyunApi]:
    with FakeAliyunApi() as fake:
        yield fake


def test_a_template_sms_is_signed_sent_and_found_again(api: FakeAliyunApi) -> None:
    n = aliyun_notifier_for(api)
    d = n.send(TO, Message.about(MessageKind.INVITATION, INV, link="https://x/i/t"))
    assert d.provider == "aliyun" and d.status == "sent" and d.to == TO
    (sms,) = api.sms_to(TO)
    assert sms.template_code == "SMS_900001" and sms.params["reply_code"] == "KQ27"
    assert api.refused == []  # the fake checked the ACS3 signature
    found = n.find_messages(TO, created_after=datetime.now(UTC) - timedelta(minutes=1))
    assert [(f.sid, f.status) for f in found] == [(d.sid, "delivered")]


def test_free_text_and_kinds_without_a_template_are_refused(api: FakeAliyunApi) -> None:
    n = aliyun_notifier_for(api)
    with pytest.raises(notify.NotificationFailed) as refused:
        n.send_sms(TO, "任意文字")
    assert refused.value.kind is FailureKind.REJECTED
    with pytest.raises(notify.NotificationFailed):
        n.place_call(TO, twiml_url="https://x")  # no message: nothing to read
    assert api.sms == [] and api.calls == []


def test_errors_map_to_the_kinds_the_outbox_acts_on(api: FakeAliyunApi) -> None:
    n = aliyun_notifier_for(api)
    message = Message.about(MessageKind.CONFIRMATION, INV, contact="020-1")
    with pytest.raises(notify.NotificationFailed) as bad:
        n.send("+8612", message)
    assert bad.value.kind is FailureKind.INVALID_NUMBER and bad.value.is_recipient_problem
    api.fail_next(503, "ServiceUnavailable")
    with pytest.raises(notify.TransientFailure):
        n.send(TO, message)
    api.fail_next(200, "isv.BUSINESS_LIMIT_CONTROL")
    with pytest.raises(notify.TransientFailure) as limited:
        n.send(TO, message)
    assert limited.value.kind is FailureKind.RATE_LIMITED
    forged = notify.AliyunNotifier(
        access_key_id=api.access_key_id,
        access_key_secret="not-the-secret",
        sign_name="广东省评标专家库",
        sms_templates={"confirmation": "SMS_900002"},
        voice_templates={"invitation": "TTS_1", "accepted": "TTS_2", "declined": "TTS_3"},
        sms_endpoint=api.endpoint,
        voice_endpoint=api.endpoint,
    )
    with pytest.raises(notify.NotificationFailed) as auth:
        forged.send(TO, message)
    assert auth.value.kind is FailureKind.AUTH
    assert api.sms == []


def test_an_ivr_call_reads_the_invitation_and_maps_keys_one_and_two(api: FakeAliyunApi) -> None:
    n = aliyun_notifier_for(api)
    d = n.place_call(
        TO, twiml_url="https://x", message=Message.about(MessageKind.INVITATION_CALL, INV)
    )
    (call,) = api.calls_to(TO)
    assert d.sid == call.call_id and d.channel is notify.Channel.VOICE
    assert call.menu == {"1": "TTS_800002", "2": "TTS_800003"}
    assert call.params == {
        "name": "张三",
        "time": "2026年12月5日（星期六）09:00",
        "venue": "广州评标室",
    }


def test_an_unreachable_endpoint_is_transient() -> None:
    with FakeAliyunApi() as gone:
        n = aliyun_notifier_for(gone, timeout_seconds=0.5)
    with pytest.raises(notify.TransientFailure):
        n.send(TO, Message(MessageKind.HELP))


@pytest.mark.parametrize("provider", ["aliyun", "twilio"])
def test_the_demo_setting_runs_either_provider_against_its_fake(provider: str) -> None:
    from expertpool.core.config import Config
    from expertpool.notifications.notifier import build_notifier

    n = build_notifier(Config(notifier=provider, notifier_fake=True))
    assert n.provider == provider
    d = n.send(TO, Message.about(MessageKind.CONFIRMATION, INV, contact="020-1"))
    assert d.status in ("sent", "queued")
