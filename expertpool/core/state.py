"""Per-application state shared by routes, services and commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, scoped_session

from expertpool.core.config import Config
from expertpool.core.keys import KeyStore

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@dataclass
class AppState:
    """What one application instance owns: settings, engine, sessions, keys and adapters."""

    config: Config
    engine: Engine
    sessions: scoped_session[Session]
    keys: KeyStore
    services: dict[str, Any] = field(default_factory=dict)


def state() -> AppState:
    """The state of the current application."""
    return current_app.extensions["expertpool"]  # type: ignore[no-any-return]


def db() -> Session:
    """The database session of the current request or command."""
    return state().sessions()


def config() -> Config:
    """The settings of the current application."""
    return state().config
