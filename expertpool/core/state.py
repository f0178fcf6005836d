"""Per-application state shared by routes, services and commands."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import Engine
from sqlalchemy.orm import Session, scoped_session

from expertpool.core.config import Config
from expertpool.core.db import utcnow
from expertpool.core.files import FileStore
from expertpool.core.keys import KeyStore

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@dataclass
class AppState:
    """What every feature of one application shares: settings, engine, sessions, keys, clock.

    Feature collaborators (the notifier, the room's adapters, ...) are not kept here: `create_app`
    builds them and hands them to the feature that uses them.
    """

    config: Config
    engine: Engine
    sessions: scoped_session[Session]
    keys: KeyStore
    files: FileStore
    clock: Callable[[], datetime] = utcnow
    # Worker processes for CPU-bound work (a draw's §4-§7 over the whole pool, draws/compute.py),
    # made at start-up; None: such work runs in the calling thread.
    cpu_pool: Executor | None = None


def state() -> AppState:
    """The state of the current application."""
    return current_app.extensions["expertpool"]  # type: ignore[no-any-return]


def db() -> Session:
    """The database session of the current request or command."""
    return state().sessions()


def config() -> Config:
    """The settings of the current application."""
    return state().config


def now() -> datetime:
    """The current application's clock (tests install a fixed one in `AppState.clock`)."""
    return state().clock()
