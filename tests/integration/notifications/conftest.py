"""Fixtures for the app's notification tests: the app switched to Twilio against the loopback
fake.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import inspect

from expertpool.core.db import utcnow
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import invitations
from expertpool.notifications.context import NotifyContext, ReplacementHandler
from expertpool.notifications.models import InvitationRecord, OutboxMessage
from expertpool.notifications.notifier import services_of
from tests.fakes.twilio_api import (
    FAKE_ACCOUNT_SID,
    FAKE_AUTH_TOKEN,
    FAKE_FROM_NUMBER,
    FakeTwilioApi,
    client_transport,
    fake_twilio_api,
    twilio_notifier_for,
)

__all__ = ["FakeReplacements", "TwilioTrial", "fake_twilio_api", "key_of", "replacements", "trial"]

PUBLIC_BASE_URL = "https://pool.example.gov.cn"
STARTS_AT = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)


@dataclass
class TwilioTrial:
    """The app wired to the fake Twilio API, with helpers to invite, dispatch and answer."""

    app: Flask
    api: FakeTwilioApi
    numbers: Iterator[int] = field(default_factory=lambda: iter(range(13800000001, 13900000000)))

    @property
    def session(self) -> Any:
        """The app's session on this thread."""
        return self.app.extensions["expertpool"].sessions()

    @property
    def notifier(self) -> Any:
        """The app's notifier (a real TwilioNotifier pointed at the fake)."""
        return services_of(self.app).notifier

    def new_number(self) -> str:
        """A fresh mainland mobile number in E.164."""
        return f"+86{next(self.numbers)}"

    def invite(
        self,
        phone: str | None = None,
        *,
        rank: int = 1,
        now: datetime | None = None,
        draw_id: str = "D-1",
    ) -> InvitationRecord:
        """Queue one invitation and commit, as the draw will."""
        session = self.session
        invitation = invitations.enqueue_invitation(
            session,
            draw_id=draw_id,
            group_id="G1",
            expert_id=1000 + rank,
            rank=rank,
            phone=phone or self.new_number(),
            expert_name="李四",
            starts_at=STARTS_AT,
            venue="广州主场评标室",
            now=now,
            ctx=self.ctx,
        )
        session.commit()
        return invitation

    def dispatch(
        self, now: datetime | None = None, worker_id: str = "w1"
    ) -> notifications.DispatchReport:
        """One dispatcher pass with the app's notifier (the test's own transaction ended first)."""
        self.session.commit()  # on SQLite an open transaction holds the write lock
        return notifications.dispatch_once(
            self.app.extensions["expertpool"].sessions,
            self.notifier,
            now or utcnow(),
            worker_id,
            50,
            ctx=self.ctx,
        )

    def transport(self) -> Any:
        """Signed callbacks into the app through a test client."""
        return client_transport(self.app.test_client(), FAKE_AUTH_TOKEN)

    def play(self) -> list[str]:
        """Drive every new call through the app's webhooks."""
        return self.api.play_calls(self.transport())

    def reload(self, invitation: InvitationRecord) -> InvitationRecord:
        """The invitation as stored now."""
        session = self.session
        session.expire_all()
        found = session.get(InvitationRecord, key_of(invitation))
        assert found is not None
        return found

    def messages(self, invitation: InvitationRecord) -> list[OutboxMessage]:
        """The outbox messages of an invitation, oldest first."""
        from sqlalchemy import select

        session = self.session
        session.expire_all()
        return list(
            session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.invitation_id == key_of(invitation))
                .order_by(OutboxMessage.id)
            ).scalars()
        )

    def bodies(self, phone: str) -> list[str]:
        """Texts the fake received for `phone`, oldest first."""
        return [
            m["body"]
            for m in sorted(self.api.messages.values(), key=lambda m: m["date_created"])
            if m["to"] == phone
        ]

    def later(self, minutes: float) -> datetime:
        """A moment `minutes` from now."""
        return utcnow() + timedelta(minutes=minutes)

    @property
    def ctx(self) -> NotifyContext:
        """The notification context of the app."""
        return services_of(self.app).ctx


def key_of(row: Any) -> int:
    """The primary key of a row, even when the session that loaded it is closed."""
    identity = inspect(row).identity
    assert identity is not None
    return int(identity[0])


def wire_twilio(
    app: Flask, api: FakeTwilioApi, *, timeout_seconds: float = 1.0
) -> Callable[[], None]:
    """Switch an app to Twilio against `api`; returns the function restoring it."""
    st = app.extensions["expertpool"]
    services = services_of(app)
    old_config, old_notifier, old_ctx = st.config, services.notifier, services.ctx
    st.config = old_config.replace(
        notifier="twilio",
        twilio_account_sid=FAKE_ACCOUNT_SID,
        twilio_auth_token=FAKE_AUTH_TOKEN,
        twilio_from_number=FAKE_FROM_NUMBER,
        twilio_api_base_url=api.base_url,
        public_base_url=PUBLIC_BASE_URL,
    )
    services.notifier = twilio_notifier_for(api, timeout_seconds=timeout_seconds)
    services.ctx = replace(old_ctx, config=st.config)

    def restore() -> None:
        st.config = old_config
        services.notifier, services.ctx = old_notifier, old_ctx

    return restore


@pytest.fixture()
def trial(app: Flask, fake_twilio_api: FakeTwilioApi) -> Iterator[TwilioTrial]:
    """The shared test app talking to the fake Twilio API (SQLite or PostgreSQL per
    DATABASE_URL).
    """
    restore = wire_twilio(app, fake_twilio_api)
    try:
        yield TwilioTrial(app, fake_twilio_api)
    finally:
        restore()


@dataclass
class FakeReplacements:
    """A replacement handler that records what it was asked for."""

    calls: list[tuple[int, str]] = field(default_factory=list)

    def __call__(
        self, session: Any, invitation: InvitationRecord, reason: str, ctx: NotifyContext
    ) -> None:
        """Record one request."""
        self.calls.append((key_of(invitation), reason))


def replacement_handler(app: Flask, handler: ReplacementHandler) -> Callable[[], None]:
    """Make `handler` the app's replacement callback; returns the function restoring the wired
    one.
    """
    services = services_of(app)
    wired = services.ctx
    services.ctx = replace(wired, callbacks=replace(wired.callbacks, replace=handler))

    def restore() -> None:
        services.ctx = replace(services.ctx, callbacks=wired.callbacks)

    return restore


@pytest.fixture()
def replacements(app: Flask) -> Iterator[FakeReplacements]:
    """Installed as the replacement handler for one test."""
    fake = FakeReplacements()
    restore = replacement_handler(app, fake)
    try:
        yield fake
    finally:
        restore()
