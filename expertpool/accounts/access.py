"""Who may call which route: every view declares its access, and undeclared views are refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _

from expertpool.accounts import logins, users
from expertpool.accounts.models import ApiToken, Centre, User, UserRole
from expertpool.core.db import utcnow
from expertpool.core.errors import Forbidden, Unauthenticated
from expertpool.core.state import config, db

F = TypeVar("F", bound=Callable[..., Any])
ALL_ROLES = frozenset(UserRole)


@dataclass(frozen=True)
class Access:
    """The access rule of one view: public, or the roles allowed."""

    public: bool
    roles: frozenset[UserRole]


def public(view: F) -> F:
    """Anyone, logged in or not."""
    view._access = Access(True, frozenset())  # type: ignore[attr-defined]
    return view


def login_required(view: F) -> F:
    """Any logged-in user."""
    view._access = Access(False, ALL_ROLES)  # type: ignore[attr-defined]
    return view


def roles(*allowed: UserRole) -> Callable[[F], F]:
    """Only users holding one of these roles."""

    def wrap(view: F) -> F:
        view._access = Access(False, frozenset(allowed))  # type: ignore[attr-defined]
        return view

    return wrap


def current_user() -> User | None:
    """The user of this request, if any."""
    user: User | None = g.get("user")
    return user


def require_user() -> User:
    """The user of this request; raises when nobody is logged in."""
    user = current_user()
    if user is None:
        raise Unauthenticated()
    return user


def actor_label() -> str:
    """How the audit trail names whoever acts in this request."""
    user = current_user()
    return user.username if user else "anonymous"


def require_centre(user: User, centre: Centre | int | None) -> None:
    """Centre staff act only for their own centre; other roles are not limited by centre."""
    if user.role is not UserRole.CENTRE_STAFF:
        return
    centre_id = centre.id if isinstance(centre, Centre) else centre
    if user.centre_id is None or centre_id != user.centre_id:
        raise Forbidden(_("You may act only for your own centre."), code="outside_centre")


def _load_user() -> None:
    g.user = None
    g.auth = None
    g.api_token = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        token = users.resolve_api_token(db(), header[7:].strip())
        g.api_token = token
        g.user = token.user
        g.auth = "token"
        return
    if request.path.startswith("/api/"):
        # The API is exempt from CSRF, so it must never trust the session cookie.
        return
    uid = session.get("uid")
    if uid is None:
        return
    user = db().get(User, uid)
    stamp = session.get("pw")
    if user is None or not user.is_active or stamp != user.password_changed_at.isoformat():
        _forget_login()
        return
    live = logins.resolve(
        db(), session.get("sid"), user.id, now=utcnow(), timeouts=session_timeouts()
    )
    if live is None:
        # Logged out, ended from the account page, or timed out: this cookie is dead for good.
        _forget_login()
        return
    g.user = user
    g.auth = "session"
    g.login_session_id = live.id


def session_timeouts() -> logins.Timeouts:
    """The idle and absolute timeouts of login sessions, from the settings.

    Sessions run on the real time (`utcnow`), not on the application's clock, which tests and
    demos move to days before an evaluation.
    """
    cfg = config()
    return logins.Timeouts.of(cfg.session_idle_minutes, cfg.session_absolute_hours)


def _forget_login() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def open_login(user: User) -> None:
    """Log `user` in to this browser: a fresh cookie session (nothing of the old one kept but the
    language) tied to a new server-side login session."""
    lang = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)
    session.permanent = False
    session["uid"] = user.id
    session["pw"] = user.password_changed_at.isoformat()
    session["sid"] = logins.start(
        db(),
        user.id,
        now=utcnow(),
        address=request.remote_addr,
        agent=request.user_agent.string,
    )
    if lang:
        session["lang"] = lang


def close_login() -> None:
    """Log this browser out: its server-side session ends, so a copy of the cookie is useless."""
    logins.end(db(), session.get("sid"), now=utcnow())
    _forget_login()
    g.pop("csrf_token", None)


def _is_static(endpoint: str) -> bool:
    """Static files (the app's and any blueprint's) are public: style sheets, scripts, images."""
    return endpoint == "static" or endpoint.endswith(".static")


def _enforce() -> Any:
    if request.endpoint is None or _is_static(request.endpoint):
        return None
    view = current_app.view_functions.get(request.endpoint)
    rule: Access | None = getattr(view, "_access", None)
    if rule is None:
        raise Forbidden()
    if rule.public:
        return None
    user = current_user()
    if user is None:
        if request.path.startswith("/api/") or request.method != "GET":
            raise Unauthenticated()
        return redirect(
            url_for("auth.login", next=request.full_path if request.query_string else request.path)
        )
    if not holds(user, rule.roles):
        raise Forbidden()
    _check_scope(view)
    return None


def _check_scope(view: Any) -> None:
    """A token limited to scopes reaches only the operations of those scopes."""
    token: ApiToken | None = g.get("api_token")
    limited = token.scope_set if token is not None else None
    if limited is None:
        return
    needed: str | None = getattr(view, "_scope", None)
    if needed is not None and needed not in limited:
        raise Forbidden(
            _("This token lacks the scope %(scope)s.", scope=needed), code="insufficient_scope"
        )


def current_token() -> ApiToken | None:
    """The bearer token of this request, if it came with one."""
    token: ApiToken | None = g.get("api_token")
    return token


SINGLE_ADMIN_POWERS = frozenset({UserRole.SECURITY_ADMIN, UserRole.AUDIT_ADMIN})


def holds(user: User, allowed: frozenset[UserRole]) -> bool:
    """Whether the user's role is among `allowed`; in the explicitly configured single-person
    mode the system administrator also holds the security and audit administrators' powers."""
    if user.role in allowed:
        return True
    return (
        user.role is UserRole.ADMIN
        and bool(allowed & SINGLE_ADMIN_POWERS)
        and current_app.extensions["expertpool"].config.single_admin
    )


def init_access(app: Flask) -> None:
    """Load the user on every request and enforce each view's declared access."""

    @app.before_request
    def _before() -> Any:
        _load_user()
        if g.get("auth") == "token" and not request.path.startswith("/api/"):
            raise Forbidden(_("Bearer tokens are accepted only by the JSON API."))
        return _enforce()


def check_declared(app: Flask) -> None:
    """Refuse to start when a view has no access declaration."""
    missing = [
        name
        for name, view in app.view_functions.items()
        if not _is_static(name) and getattr(view, "_access", None) is None
    ]
    if missing:
        raise RuntimeError("views without an access declaration: " + ", ".join(sorted(missing)))
