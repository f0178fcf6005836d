"""What the demo steps work with, handed to them by the command that runs the demo."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, scoped_session

from expertpool.core.config import Config
from expertpool.core.keys import KeyStore
from expertpool.notifications.context import NotifyContext


@dataclass(frozen=True)
class DemoContext:
    """Settings, keys, sessions and the notification context of the application the demo fills."""

    config: Config
    keys: KeyStore
    notify: NotifyContext
    sessions: scoped_session[Session]
