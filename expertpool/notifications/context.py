"""What the notification services work with: settings, keys, the inviting feature's callbacks,
and the webhook paths the provider calls."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol

from sqlalchemy.orm import Session

import notify
from expertpool.core.config import Config
from expertpool.core.keys import KeyStore
from expertpool.core.pii import PiiCipher
from expertpool.notifications.models import (
    InvitationRecord,
)

log = logging.getLogger(__name__)

VOICE_PATH = "/webhooks/twilio/voice"
GATHER_PATH = "/webhooks/twilio/gather"
CALL_STATUS_PATH = "/webhooks/twilio/call-status"
SMS_INBOUND_PATH = "/webhooks/twilio/sms"
SMS_STATUS_PATH = "/webhooks/twilio/sms-status"
LINK_PATH = "/i/"
#: A call still live this long after the deadline no longer holds the invitation open.
STUCK_CALL = timedelta(minutes=15)
ACTOR = "notify"
#: Unclear replies get a help SMS, at most this many per invitation (no endless exchange).
MAX_HELP_SMS = 3


ReplacementReason = Literal["declined", "no_response", "unreachable", "withdrawn"]


class ReplacementHandler(Protocol):
    """Called in the caller's transaction when an invitee must be replaced; must not commit."""

    def __call__(
        self, session: Session, invitation: InvitationRecord, reason: str, ctx: NotifyContext
    ) -> None: ...


@dataclass(frozen=True)
class Seating:
    """What an acceptance obtained: a seat held in the caller's transaction (with the venue to
    name in the confirmation; None keeps the invitation's), or no seat, in which case the expert
    is told the place is no longer needed and the inviting feature has called the next backup."""

    is_held: bool
    venue: str | None = None


class SeatAssigner(Protocol):
    """Called in the caller's transaction on acceptance; must not commit. May fill
    `seat_venue` / `seat_label`; a confirmation is sent only when the seat is held."""

    def __call__(
        self, session: Session, invitation: InvitationRecord, ctx: NotifyContext
    ) -> Seating: ...


@dataclass(frozen=True)
class InvitationCallbacks:
    """What the feature that invites (the draw) does when an invitee accepts or must be replaced."""

    replace: ReplacementHandler
    seat: SeatAssigner


@dataclass(frozen=True)
class NotifyContext:
    """What the notification services need besides a session: settings, keys and callbacks.

    Built once by `create_app` and handed to every caller; nothing looks it up at run time.
    """

    config: Config
    keys: KeyStore
    callbacks: InvitationCallbacks

    @property
    def cipher(self) -> PiiCipher:
        """The personal-data cipher over this context's keys."""
        return PiiCipher.from_keys(self.keys)

    def url(self, path: str, **query: object) -> str:
        """The public URL of one of our webhook paths (what the provider calls and signs)."""
        suffix = "&".join(f"{k}={v}" for k, v in query.items())
        return notify.webhook_url(
            self.config.public_base_url, path + (f"?{suffix}" if suffix else "")
        )
