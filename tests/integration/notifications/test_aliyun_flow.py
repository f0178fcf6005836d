"""A draw's invitations through Alibaba Cloud, end to end against the loopback fake of its APIs:
template SMS and IVR calls, answers by key press and by reply pushed back to the secret path,
a decline replaced by the next backup, and pushes refused from elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from expertpool.core.db import utcnow
from expertpool.core.models import AuditEntry
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications.models import InvitationRecord, InvitationState
from expertpool.notifications.notifier import services_of
from notify.aliyun_fake import (
    FAKE_SMS_TEMPLATES,
    FAKE_VOICE_TEMPLATES,
    FakeAliyunApi,
    aliyun_notifier_for,
)
from tests.integration.draws.conftest import NOW, Setup, add_experts, expert_name, make_setup

pytestmark = pytest.mark.integration

SECRET = "push-secret-28"
PUSH = f"/webhooks/aliyun/{SECRET}"


@pytest.fixture()
def api() -> Iterator[FakeAliyunApi]:
    with FakeAliyunApi() as fake:
        yield fake


@pytest.fixture()
def aliyun(app: Flask, api: FakeAliyunApi, make_user: Callable[..., Any]) -> Iterator[Setup]:
    """The shared app switched to Alibaba Cloud against the fake, with a ready project."""
    st = app.extensions["expertpool"]
    services = services_of(app)
    old = st.config, services.notifier, services.ctx
    st.config = st.config.replace(
        notifier="aliyun",
        aliyun_access_key_id=api.access_key_id,
        aliyun_access_key_secret=api.access_key_secret,
        aliyun_sign_name="广东省评标专家库",
        aliyun_sms_templates=",".join(f"{k}={v}" for k, v in FAKE_SMS_TEMPLATES.items()),
        aliyun_voice_templates=",".join(f"{k}={v}" for k, v in FAKE_VOICE_TEMPLATES.items()),
        aliyun_sms_endpoint=api.endpoint,
        aliyun_voice_endpoint=api.endpoint,
        aliyun_push_secret=SECRET,
        aliyun_push_sources="127.0.0.0/8",
    )
    services.notifier = aliyun_notifier_for(api)
    services.ctx = replace(old[2], config=st.config)
    try:
        yield make_setup(app, make_user)
    finally:
        st.config = old[0]
        services.notifier, services.ctx = old[1], old[2]
        from expertpool.core.db import utcnow

        st.clock = utcnow


def _dispatch(
    setup: Setup, minutes: float = 1, at: datetime | None = None
) -> notifications.DispatchReport:
    setup.session.commit()
    return notifications.dispatch_once(
        setup.app.extensions["expertpool"].sessions,
        services_of(setup.app).notifier,
        at or NOW + timedelta(minutes=minutes),
        "w1",
        50,
        ctx=services_of(setup.app).ctx,
    )


def _invitations(setup: Setup) -> list[InvitationRecord]:
    setup.session.expire_all()
    return list(
        setup.session.execute(select(InvitationRecord).order_by(InvitationRecord.rank)).scalars()
    )


def _phone(setup: Setup, invitation: InvitationRecord) -> str:
    from expertpool.notifications.outbox import invitee_phone

    return invitee_phone(services_of(setup.app).ctx, invitation)


def test_a_draw_invites_by_template_sms_and_ivr_and_takes_key_presses_and_replies(
    aliyun: Setup, api: FakeAliyunApi
) -> None:
    add_experts(aliyun.app, 12, start=800)
    aliyun.full_draw()  # five primaries and three backups
    report = _dispatch(aliyun)
    assert report.sent == 10, report  # an SMS and a call per primary
    first = _invitations(aliyun)
    assert len(first) == 5
    phones = [_phone(aliyun, i) for i in first]
    for phone, invitation in zip(phones, first, strict=True):
        (sms,) = api.sms_to(phone)
        assert sms.template_code == FAKE_SMS_TEMPLATES["invitation"]
        assert sms.sign_name == "广东省评标专家库"
        assert set(sms.params) == {"name", "time", "venue", "reply_code", "deadline"}
        assert sms.params["reply_code"] == invitation.reply_code
        assert "link" not in sms.params  # the template declares no link
        (call,) = api.calls_to(phone)
        assert call.start_code == FAKE_VOICE_TEMPLATES["invitation"]
        assert set(call.params) == {"name", "time", "venue"}
        assert call.menu == {"1": "TTS_800002", "2": "TTS_800003"}
    names = {expert_name(n) for n in range(800, 812)}
    assert {s.params["name"] for s in api.sms} <= names

    client = aliyun.app.test_client()
    a, b, c, d, e = zip(first, phones, strict=True)
    # A presses 1 in the call; B replies "1 <code>"; C presses 2; D replies "2 <code>".
    (call_a,) = api.calls_to(a[1])
    assert (
        client.post(f"{PUSH}/voice-report", json=api.voice_report(call_a, dtmf="1")).status_code
        == 200
    )
    reply = api.sms_up(b[1], f"1 {b[0].reply_code}")
    assert client.post(f"{PUSH}/sms-up", json=reply).status_code == 200
    (call_c,) = api.calls_to(c[1])
    assert (
        client.post(f"{PUSH}/voice-report", json=api.voice_report(call_c, dtmf="2")).status_code
        == 200
    )
    reply = api.sms_up(d[1], f"2 {d[0].reply_code}")
    assert client.post(f"{PUSH}/sms-up", json=reply).status_code == 200
    states = {i.id: (i.state, i.answered_via) for i in _invitations(aliyun)}
    assert states[a[0].id] == (InvitationState.ACCEPTED, "voice")
    assert states[b[0].id] == (InvitationState.ACCEPTED, "sms")
    assert states[c[0].id] == (InvitationState.DECLINED, "voice")
    assert states[d[0].id] == (InvitationState.DECLINED, "sms")

    # The two declines brought the next two backups; the accepted get their confirmation.
    (call_e,) = api.calls_to(e[1])
    client.post(f"{PUSH}/voice-report", json=api.voice_report(call_e, dtmf="1"))
    # (the draw's replacement is dated by the real clock: send at the real time)
    _dispatch(aliyun, at=utcnow() + timedelta(seconds=5))
    everyone = _invitations(aliyun)
    assert len(everyone) == 7
    backups = [i for i in everyone if i.id not in {x.id for x in first}]
    assert [i.state for i in backups] == [InvitationState.CALLING] * 2
    for backup in backups:
        phone = _phone(aliyun, backup)
        assert phone not in phones
        assert [s.template_code for s in api.sms_to(phone)] == [FAKE_SMS_TEMPLATES["invitation"]]
        assert len(api.calls_to(phone)) == 1
    for accepted in (a, b, e):
        codes = [s.template_code for s in api.sms_to(accepted[1])]
        assert codes == [FAKE_SMS_TEMPLATES["invitation"], FAKE_SMS_TEMPLATES["confirmation"]]
        confirmation = api.sms_to(accepted[1])[-1]
        assert set(confirmation.params) == {"name", "time", "venue", "contact"}
    # A replacement answers by key press too.
    (call_f,) = api.calls_to(_phone(aliyun, backups[0]))
    client.post(f"{PUSH}/voice-report", json=api.voice_report(call_f, dtmf="1"))
    # Delivery receipts come back by push as well.
    receipt = api.sms_report(api.sms_to(a[1])[0])
    assert client.post(f"{PUSH}/sms-report", json=receipt).status_code == 200
    states = {i.id: i.state for i in _invitations(aliyun)}
    assert states[backups[0].id] is InvitationState.ACCEPTED
    # Nothing the provider holds names a project, a bidder or another expert.
    for sms in api.sms:
        assert not {"project", "bidder", "tenderer"} & set(sms.params)


def test_an_unanswered_call_is_tried_again_and_an_unknown_reply_gets_the_help_template(
    aliyun: Setup, api: FakeAliyunApi
) -> None:
    add_experts(aliyun.app, 12, start=850)
    aliyun.full_draw()
    _dispatch(aliyun)
    invitation = _invitations(aliyun)[0]
    phone = _phone(aliyun, invitation)
    client = aliyun.app.test_client()
    (call,) = api.calls_to(phone)
    report = api.voice_report(call, status_code="200005")  # no answer
    assert client.post(f"{PUSH}/voice-report", json=report).status_code == 200
    reply = api.sms_up(phone, "请问是什么项目")
    assert client.post(f"{PUSH}/sms-up", json=reply).status_code == 200
    _dispatch(aliyun, minutes=30)
    assert len(api.calls_to(phone)) == 2
    assert [s.template_code for s in api.sms_to(phone)] == [
        FAKE_SMS_TEMPLATES["invitation"],
        FAKE_SMS_TEMPLATES["help"],
    ]
    assert _invitations(aliyun)[0].state is InvitationState.CALLING


def test_pushes_to_a_wrong_path_or_from_elsewhere_are_refused_and_audited(
    aliyun: Setup, api: FakeAliyunApi
) -> None:
    add_experts(aliyun.app, 12, start=870)
    aliyun.full_draw()
    _dispatch(aliyun)
    invitation = _invitations(aliyun)[0]
    phone = _phone(aliyun, invitation)
    reply = api.sms_up(phone, f"1 {invitation.reply_code}")
    client = aliyun.app.test_client()
    assert client.post("/webhooks/aliyun/wrong/sms-up", json=reply).status_code == 403
    outside = client.post(f"{PUSH}/sms-up", json=reply, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 403
    assert client.post(f"{PUSH}/sms-up", json={"not": "a list"}).status_code == 400
    assert _invitations(aliyun)[0].state is InvitationState.CALLING
    aliyun.session.expire_all()
    forged = aliyun.session.execute(
        select(AuditEntry).where(AuditEntry.action == "webhook.signature_invalid")
    ).scalars()
    paths = [str(e.after) for e in forged]
    assert len(paths) == 2 and not any(SECRET in p for p in paths)
