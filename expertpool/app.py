"""The application factory: the only place an app is built."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.middleware.proxy_fix import ProxyFix

import notify
from expertpool.accounts import admin as admin_pages
from expertpool.accounts import api as accounts_api
from expertpool.accounts import pages as account_pages
from expertpool.accounts import users
from expertpool.accounts.access import check_declared, init_access
from expertpool.accounts.logins import Timeouts
from expertpool.apidocs import pages as apidocs_pages
from expertpool.bids import api as bids_api
from expertpool.bids import pages as bid_pages
from expertpool.core import audit, edge
from expertpool.core import legacy as legacy_api
from expertpool.core.api import install_converters
from expertpool.core.config import Config
from expertpool.core.db import make_engine, make_session_factory
from expertpool.core.errors import register_error_handlers
from expertpool.core.files import FileStore
from expertpool.core.keys import KeyStore
from expertpool.core.labels import register_filters
from expertpool.core.state import AppState, csrf, limiter
from expertpool.core.state import config as current_config
from expertpool.core.texts import LOCALES
from expertpool.departments import pages as department_pages
from expertpool.draws import api as draws_api
from expertpool.draws import pages as draw_pages
from expertpool.draws import panels
from expertpool.draws.compute import make_cpu_pool
from expertpool.events import api as events_api
from expertpool.events import events
from expertpool.events import pages as event_pages
from expertpool.experts import api as experts_api
from expertpool.experts import pages as expert_pages
from expertpool.experts import publicity_pages
from expertpool.fees import pages as fee_pages
from expertpool.home import pages as home_pages
from expertpool.notifications import account_pages as activation_pages
from expertpool.notifications import pages as notification_pages
from expertpool.notifications import webhooks
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.notifier import (
    InProcessWorker,
    NotificationServices,
    build_notifier,
    worker_id,
)
from expertpool.notifications.notifier import install as install_notifications
from expertpool.organisations import pages as organisation_pages
from expertpool.outcomes import api as outcomes_api
from expertpool.outcomes import pages as outcome_pages
from expertpool.projects import api as projects_api
from expertpool.projects import pages as project_pages
from expertpool.projects import terminal_pages
from expertpool.recommendations import pages as recommendation_pages
from expertpool.record import pages as record_pages
from expertpool.reference import api as reference_api
from expertpool.reference import pages as reference_pages
from expertpool.regimes import pages as rule_pages
from expertpool.reports import api as reports_api
from expertpool.reports import pages as report_pages
from expertpool.reports.archive import ReportIssuer
from expertpool.reports.signing import PadesSigner
from expertpool.rooms import api as rooms_api
from expertpool.rooms import pages as room_pages
from expertpool.rooms.adapters import (
    ExpertPhones,
    PasswordAuthenticator,
    SessionIdentity,
    SmsCodeSender,
)
from expertpool.rooms.conflicts import ProjectConflictChecker
from expertpool.rooms.replacements import DrawReplacements
from expertpool.rooms.socketio import RoomCollaborators, init_socketio
from expertpool.rooms.store import SqlChatLog, SqlRoomStore
from expertpool.statistics import api as statistics_api
from expertpool.statistics import pages as statistics_pages
from expertpool.training import pages as training_pages
from expertpool.upkeep.scheduler import DailyUpkeep
from expertpool.upkeep.scheduler import install as install_upkeep


def _secret_key(config: Config) -> str:
    if config.secret_key:
        return config.secret_key
    path = Path(config.instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def select_locale() -> str:
    """The interface language: the user's choice, else Chinese (commands have no session: the
    default).
    """
    chosen = session.get("lang") if has_request_context() else None
    if chosen in LOCALES:
        return str(chosen)
    user = g.get("user")
    if user is not None and user.locale in LOCALES:
        return str(user.locale)
    return current_config().default_locale


def register_blueprints(app: Flask) -> None:
    """Register every feature's pages and APIs; JSON APIs take bearer tokens and are exempt from
    CSRF.
    """
    for blueprint in (
        account_pages.bp,
        home_pages.bp,
        reference_pages.bp,
        admin_pages.bp,
        project_pages.bp,
        terminal_pages.bp,
        draw_pages.bp,
        expert_pages.bp,
        publicity_pages.bp,
        recommendation_pages.bp,
        room_pages.bp,
        bid_pages.bp,
        notification_pages.bp,
        activation_pages.bp,
        department_pages.bp,
        organisation_pages.bp,
        rule_pages.bp,
        outcome_pages.bp,
        event_pages.bp,
        report_pages.bp,
        fee_pages.bp,
        training_pages.bp,
        statistics_pages.bp,
        record_pages.bp,
        webhooks.link_bp,
    ):
        app.register_blueprint(blueprint)
    for api in (
        accounts_api.bp,
        reference_api.bp,
        experts_api.bp,
        projects_api.bp,
        draws_api.bp,
        rooms_api.bp,
        bids_api.bp,
        outcomes_api.bp,
        events_api.bp,
        reports_api.bp,
        statistics_api.bp,
        apidocs_pages.bp,
        webhooks.bp,
        webhooks.aliyun_bp,
    ):
        # provider callbacks are authenticated by their signature instead
        app.register_blueprint(api)
        csrf.exempt(api)


def build_room_collaborators(
    st: AppState, notifier: notify.Notifier, notify_ctx: NotifyContext
) -> RoomCollaborators:
    """The evaluation room's adapters over this application's database, keys and notifier."""
    cfg = st.config
    return RoomCollaborators(
        # At sign-off the store has the named report built and signed by the centre's key.
        store=SqlRoomStore(
            st.sessions,
            None if cfg.is_sqlite else st.engine,
            st.keys,
            on_archived=ReportIssuer(st.keys, PadesSigner(st.keys)),
        ),
        codes=SmsCodeSender(st.sessions, notifier, ExpertPhones(st.keys), st.keys),
        authenticator=PasswordAuthenticator(st.sessions),
        identity=SessionIdentity(
            st.sessions,
            st.engine,
            is_sqlite=cfg.is_sqlite,
            timeouts=Timeouts.of(cfg.session_idle_minutes, cfg.session_absolute_hours),
        ),
        # The conflict check runs again at check-in against current records.
        conflicts=ProjectConflictChecker(
            st.sessions, lookback_years=cfg.conflict_lookback_years, age_cap=cfg.age_cap
        ),
        # A vacated seat's replacement is the next backup of the member's draw group.
        replacements=DrawReplacements(st.sessions, notify_ctx, clock=lambda: st.clock()),
        chat=SqlChatLog(st.sessions),
    )


def create_app(
    config: Config | None = None,
    *,
    notifier: notify.Notifier | None = None,
    room: Callable[
        [AppState, notify.Notifier, NotifyContext], RoomCollaborators
    ] = build_room_collaborators,
) -> Flask:
    """Build a configured application; nothing connects before the first request.

    Every collaborator is built here and handed to the feature that uses it: the notifier (the
    one the settings choose unless `notifier` is given), the notification context with the
    draw's invitation callbacks, the embedded dispatcher, and the room's adapters (`room`
    builds them; tests pass their own).
    """
    config = config or Config.from_env()
    Path(config.instance_path).mkdir(parents=True, exist_ok=True)
    app = Flask(__name__, instance_path=str(Path(config.instance_path).resolve()))
    app.config.update(
        SECRET_KEY=_secret_key(config),
        TESTING=config.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        MAX_CONTENT_LENGTH=max(config.evidence_max_bytes, config.bid_max_bytes) + 1024 * 1024,
        BABEL_DEFAULT_LOCALE=config.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        RATELIMIT_STORAGE_URI=config.redis_url or "memory://",
        RATELIMIT_HEADERS_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=False,
    )
    users.configure_hashing(
        config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallel
    )
    engine = make_engine(config.effective_database_url)
    sessions = make_session_factory(engine)
    keys = KeyStore(config)
    st = AppState(
        config=config,
        engine=engine,
        sessions=sessions,
        keys=keys,
        files=FileStore(config.evidence_path, keys),
        cpu_pool=make_cpu_pool(0 if config.testing else config.draw_worker_processes),
    )
    app.extensions["expertpool"] = st

    @event.listens_for(sessions, "after_commit")
    def _checkpoint(sess: Session) -> None:
        if sess.info.get(audit.PENDING_KEY):
            audit.flush_checkpoints(sess, config.checkpoint_path, keys.audit_key())

    @event.listens_for(sessions, "after_rollback")
    def _forget(sess: Session) -> None:
        audit.discard_checkpoints(sess)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        sessions.remove()

    @app.before_request
    def _fresh_request_state() -> None:
        # `g` lives as long as the application context, and a context pushed outside the request
        # (tests, commands serving in-process) outlives it: never let one request's language or CSRF
        # token leak into the next one's.
        for name in ("csrf_token", "_flask_babel", "user", "auth", "api_token", "login_session_id"):
            g.pop(name, None)

    edge.install(app)
    Babel(app, locale_selector=select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    register_error_handlers(app)
    register_filters(app)
    init_access(app)

    install_converters(app)
    register_blueprints(app)
    check_declared(app)

    notifier = notifier or build_notifier(config)
    notify_ctx = NotifyContext(config, keys, panels.INVITATION_CALLBACKS)
    embedded = config.notify_worker_in_process and not config.testing
    # The outbound events' outbox is drained by the same worker loop.
    deliver_events = events.delivery_pass(
        st.sessions.session_factory, lambda: notify_ctx.cipher, worker_id=worker_id("events")
    )
    worker = InProcessWorker(app, notifier, notify_ctx, also=deliver_events) if embedded else None
    install_notifications(
        app, NotificationServices(ctx=notify_ctx, notifier=notifier, worker=worker)
    )
    upkeep = (
        DailyUpkeep(
            app,
            notify_ctx,
            clock=st.clock,
            interval_seconds=float(config.maintenance_check_seconds),
        )
        if config.maintenance_in_process and not config.testing
        else None
    )
    install_upkeep(app, upkeep)
    init_socketio(app, config, room(st, notifier, notify_ctx))
    # The unversioned /api/... paths of before /api/v1 keep answering, marked deprecated.
    legacy_api.install(app)
    if config.proxy_fix_hops:
        # Outermost, so that Socket.IO connections see the client's address too.
        hops = config.proxy_fix_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # No framing, no plugins, no <base> hijack, and forms post only to this site (scripts stay
        # free for the feature pages).
        response.headers.setdefault(
            "Content-Security-Policy",
            "frame-ancestors 'none'; object-src 'none'; base-uri 'self'; form-action 'self'",
        )
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    logging.getLogger("expertpool").setLevel(logging.INFO)
    return app
