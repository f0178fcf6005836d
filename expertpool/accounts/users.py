"""User accounts: creation, roles, centre membership, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from expertpool.accounts import logins
from expertpool.accounts.models import ApiToken, Centre, User, UserRole
from expertpool.core import audit
from expertpool.core.db import gevent_is_patched, utcnow
from expertpool.core.errors import NotFound, RateLimited, Unauthenticated, ValidationFailed
from expertpool.core.texts import _l

T = TypeVar("T")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so that timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))
USERNAME_RE = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
MIN_PASSWORD = 10
MIN_STRENGTH = 3
"""The least zxcvbn score (0 to 4) of a password a person chooses: 3 is "safely unguessable",
about 10^8 guesses, beyond an online attacker held by the login limits."""
_STRENGTH_CHARS = 100
"""zxcvbn reads at most this many characters (its time grows with the length)."""
NO_PASSWORD = "!no-password"
"""The password hash of an account whose owner has not set a password yet (created in bulk for
imported and demo experts): never an Argon2 hash, so no password logs in with it."""


_hash_slots: threading.BoundedSemaphore | None = None
HASH_WAIT_SECONDS = 10.0
"""How long a login waits for a free Argon2 slot before it is told to try again."""


def configure_hashing(time_cost: int, memory_kib: int, parallel: int = 0) -> None:
    """Set the Argon2id cost for new hashes (settings `EXPERTPOOL_ARGON2_*`; old hashes still
    verify) and how many hashes may run at once (`parallel`; 0: no bound).
    """
    global _hasher, _DUMMY_HASH, _hash_slots
    _hash_slots = threading.BoundedSemaphore(parallel) if parallel > 0 else None
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    _DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def _fold(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def password_problem(password: str, words: Sequence[str | None] = ()) -> str | None:
    """Why a password a person chose is refused, or None: shorter than `MIN_PASSWORD`, built on
    one of `words` (their username, name, organisation), or scored below `MIN_STRENGTH` by
    zxcvbn (which is also told the words)."""
    if len(password) < MIN_PASSWORD:
        return str(_l("At least %(n)d characters.", n=MIN_PASSWORD))
    folded = _fold(password)
    personal = [w for w in (_fold(w or "") for w in words) if len(w) >= 3 or not w.isascii()]
    if any(w and w in folded for w in personal):
        return str(_l("Do not build the password on your username, name or organisation."))
    score = zxcvbn(password[:_STRENGTH_CHARS], user_inputs=[w for w in words if w])["score"]
    if score < MIN_STRENGTH:
        return str(_l("Too easy to guess: use a longer phrase of unrelated words."))
    return None


def personal_words(user: User) -> list[str]:
    """What a user's password must not be built on: username, name and centre."""
    return [user.username, user.display_name, user.centre.name if user.centre else ""]


@contextmanager
def _hash_slot() -> Iterator[None]:
    """Hold one of the Argon2 slots: a burst of logins queues here, so that hashing never takes
    every core and other requests keep answering; a login that waits too long is refused."""
    slots = _hash_slots
    if slots is None:
        yield
        return
    if not slots.acquire(timeout=HASH_WAIT_SECONDS):
        raise RateLimited(str(_l("Too many logins at once; try again in a moment.")))
    try:
        yield
    finally:
        slots.release()


def _off_loop(work: Callable[..., T], *args: Any) -> T:
    """Run Argon2 work where it cannot stall other requests: under gevent (gunicorn `-k gevent`)
    in the hub's pool of real threads, so the event loop keeps serving while the hash runs
    (argon2-cffi releases the GIL); otherwise in the calling thread."""
    if gevent_is_patched():
        import gevent

        return cast(T, gevent.get_hub().threadpool.apply(work, args))
    return work(*args)


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    with _hash_slot():
        return _off_loop(_hasher.hash, password)


def has_password(user: User) -> bool:
    """Whether the account's owner has set a password (accounts made in bulk start without)."""
    return not user.password_hash.startswith("!")


def _user_view(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "centre": user.centre.region_code if user.centre else None,
        "is_active": user.is_active,
    }


def _validate(
    session: Session,
    username: str,
    display_name: str,
    password: str | None,
    role: str,
    centre_code: str | None,
    *,
    strong: bool = False,
) -> tuple[UserRole, Centre | None]:
    fields: dict[str, str] = {}
    if not USERNAME_RE.match(username or ""):
        fields["username"] = str(_l("3–64 letters, digits, dot, dash or underscore."))
    if not (display_name or "").strip():
        fields["display_name"] = str(_l("Required."))
    if password is not None and len(password) < MIN_PASSWORD:
        fields["password"] = str(_l("At least %(n)d characters.", n=MIN_PASSWORD))
    elif password is not None and strong:
        problem = password_problem(password, [username, display_name])
        if problem:
            fields["password"] = problem
    try:
        role_value = UserRole(role)
    except ValueError:
        fields["role"] = str(_l("Unknown role."))
        role_value = UserRole.EXPERT
    centre = None
    if centre_code:
        centre = session.execute(
            select(Centre).where(Centre.region_code == centre_code)
        ).scalar_one_or_none()
        if centre is None:
            fields["centre"] = str(_l("Unknown centre."))
    if role_value is UserRole.CENTRE_STAFF and centre is None and "centre" not in fields:
        fields["centre"] = str(_l("Centre staff must belong to a centre."))
    if fields:
        raise ValidationFailed(fields=fields)
    return role_value, centre


def create_user(
    session: Session,
    *,
    actor: str,
    username: str,
    display_name: str,
    password: str,
    role: str,
    centre_code: str | None = None,
    strong: bool = False,
) -> User:
    """Create an account; the caller's session is committed here. With `strong` (a password a
    person chose in a form) the password must pass `password_problem`."""
    role_value, centre = _validate(
        session, username, display_name, password, role, centre_code, strong=strong
    )
    user = User(
        username=username,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        role=role_value,
        centre=centre,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ValidationFailed(fields={"username": str(_l("This username is taken."))}) from None
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        after=_user_view(user),
    )
    session.commit()
    return user


def update_user(
    session: Session,
    *,
    actor: str,
    user_id: int,
    display_name: str,
    role: str,
    centre_code: str | None,
    is_active: bool,
    password: str | None = None,
) -> User:
    """Change a user's name, role, centre, active flag and (optionally) password, all or nothing."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    role_value, centre = _validate(
        session, user.username, display_name, password or None, role, centre_code, strong=True
    )
    _keep_one_of_each_administrator(session, user, role_value, is_active)
    before = _user_view(user)
    user.display_name = display_name.strip()
    user.role = role_value
    user.centre = centre
    if user.is_active and not is_active:
        # A deactivated account's logins end at once, in every browser.
        logins.end_all(session, user.id, now=utcnow(), reason="deactivated")
    user.is_active = is_active
    session.flush()
    b, a = audit.diff(before, _user_view(user))
    if a:
        audit.record(
            session,
            actor=actor,
            action="user.update",
            object_type="user",
            object_id=user.id,
            before=b,
            after=a,
        )
    if password:
        _replace_password(session, actor, user, password)
    session.commit()
    return user


def _keep_one_of_each_administrator(
    session: Session, user: User, role_value: UserRole, is_active: bool
) -> None:
    """Refuse a change that would leave no active system, security or audit administrator."""
    if not (user.role.is_administrator and user.is_active):
        return
    if role_value is user.role and is_active:
        return
    others = session.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == user.role, User.is_active.is_(True), User.id != user.id)
    ).scalar_one()
    if not others:
        field = "role" if role_value is not user.role else "is_active"
        raise ValidationFailed(
            fields={field: str(_l("The last active administrator of a kind must stay one."))}
        )


def refuse_role_grant(user: User | None, role: str) -> None:
    """The system administrator creates and edits accounts but grants no role beyond the one an
    account was created with, and never an administrator role: roles are the security
    administrator's (三员分立)."""
    try:
        wanted = UserRole(role)
    except ValueError:
        return  # validation names the unknown role
    if user is None and wanted.is_administrator:
        raise ValidationFailed(
            fields={
                "role": str(_l("Administrator roles are granted by the security administrator."))
            }
        )
    if user is not None and wanted is not user.role:
        raise ValidationFailed(
            fields={"role": str(_l("Roles are changed by the security administrator."))}
        )


def change_role(session: Session, *, actor: User, user_id: int, role: str) -> User:
    """The security administrator gives an account another role (one role per account, so no
    account ever holds two administrator roles); never their own."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    try:
        role_value = UserRole(role)
    except ValueError:
        raise ValidationFailed(fields={"role": str(_l("Unknown role."))}) from None
    if user.id == actor.id:
        raise ValidationFailed(fields={"role": str(_l("You may not change your own role."))})
    if role_value is UserRole.CENTRE_STAFF and user.centre is None:
        raise ValidationFailed(fields={"role": str(_l("Centre staff must belong to a centre."))})
    if role_value is user.role:
        return user
    _keep_one_of_each_administrator(session, user, role_value, user.is_active)
    before = {"role": user.role.value}
    user.role = role_value
    # A new role starts a new login: sessions and tokens issued under the old one end.
    user.password_changed_at = utcnow()
    logins.end_all(session, user.id, now=user.password_changed_at, reason="role")
    for token in session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).scalars():
        token.revoked_at = utcnow()
    audit.record(
        session,
        actor=actor.username,
        action="user.role",
        object_type="user",
        object_id=user.id,
        before=before,
        after={"role": role_value.value},
    )
    session.commit()
    return user


def key_keeper(session: Session, username: str, *, single_admin: bool) -> User:
    """The active security administrator who rotates keys on the server and is named for it in
    the audit trail (the system administrator only in the configured single-person mode)."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    allowed = {UserRole.SECURITY_ADMIN} | ({UserRole.ADMIN} if single_admin else set())
    if user is None or not user.is_active or user.role not in allowed:
        raise ValidationFailed(
            fields={"by": str(_l("Keys are rotated by an active security administrator."))}
        )
    return user


def _replace_password(session: Session, actor: str, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    logins.end_all(session, user.id, now=user.password_changed_at, reason="password")
    for token in session.execute(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ).scalars():
        token.revoked_at = utcnow()
    audit.record(
        session, actor=actor, action="user.password", object_type="user", object_id=user.id
    )


def new_password_errors(new: str, confirm: str, words: Sequence[str | None] = ()) -> dict[str, str]:
    """Field errors of a new password and its confirmation (empty when both are fine)."""
    problem = password_problem(new, words)
    if problem:
        return {"new_password": problem}
    if new != confirm:
        return {"confirm_password": str(_l("The two passwords differ."))}
    return {}


def replace_password(session: Session, *, actor: str, user: User, password: str) -> None:
    """Set a password in the caller's transaction (does not commit): every session and API
    token of the user ends."""
    _replace_password(session, actor, user, password)


def set_password(session: Session, *, actor: str, user_id: int, password: str) -> User:
    """Replace a password; existing sessions and tokens of the user end."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    problem = password_problem(password, personal_words(user))
    if problem:
        raise ValidationFailed(fields={"password": problem})
    _replace_password(session, actor, user, password)
    session.commit()
    return user


def change_own_password(
    session: Session, *, user_id: int, current: str, new: str, confirm: str
) -> User:
    """A user replaces their own password after proving the current one; other sessions and tokens
    end.
    """
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    fields: dict[str, str] = {}
    if not check_password(user, current):
        fields["current_password"] = str(_l("Wrong password."))
    fields.update(new_password_errors(new, confirm, personal_words(user)))
    if fields:
        raise ValidationFailed(fields=fields)
    _replace_password(session, user.username, user, new)
    session.commit()
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the active user with these credentials or raise `Unauthenticated`."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    try:
        # An account without a password is checked against the dummy hash too, so that neither
        # the answer nor its timing tells whether it exists or was activated.
        with _hash_slot():
            _off_loop(
                _hasher.verify,
                user.password_hash if user and has_password(user) else _DUMMY_HASH,
                password,
            )
    except (VerificationError, InvalidHashError):
        raise Unauthenticated(
            str(_l("Wrong username or password.")), code="bad_credentials"
        ) from None
    if user is None or not user.is_active:
        raise Unauthenticated(str(_l("Wrong username or password.")), code="bad_credentials")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def check_password(user: User, password: str) -> bool:
    """Re-authentication of a logged-in user (e.g. before signing)."""
    if not has_password(user):
        return False
    try:
        with _hash_slot():
            return _off_loop(_hasher.verify, user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    user: User,
    ttl_hours: int,
    *,
    client: str | None = None,
    scopes: Iterable[str] | None = None,
) -> tuple[str, ApiToken]:
    """Create a bearer token; the clear token is returned once and never stored.

    `client` names the machine client it is for; `scopes` limits it (None: the role's reach).
    """
    scope_text = None if scopes is None else " ".join(sorted(set(scopes)))
    clear = "ep_" + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=_token_hash(clear),
        expires_at=utcnow() + timedelta(hours=ttl_hours),
        client=client or None,
        scopes=scope_text,
    )
    session.add(row)
    audit.record(
        session,
        actor=user.username,
        action="token.issue",
        object_type="user",
        object_id=user.id,
        after={
            "expires_at": row.expires_at.isoformat(),
            "client": row.client,
            "scopes": scope_text,
        },
    )
    session.commit()
    return clear, row


def resolve_token(session: Session, clear: str) -> User:
    """The user of a valid bearer token, else `Unauthenticated` (expired, revoked or forged)."""
    return resolve_api_token(session, clear).user


def resolve_api_token(session: Session, clear: str) -> ApiToken:
    """A valid bearer token's row, else `Unauthenticated` (expired, revoked or forged)."""
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(clear))
    ).scalar_one_or_none()
    if row is None:
        raise Unauthenticated(str(_l("Invalid token.")), code="invalid_token")
    if row.revoked_at is not None or row.expires_at <= utcnow():
        raise Unauthenticated(str(_l("The token has expired.")), code="token_expired")
    if not row.user.is_active:
        raise Unauthenticated(str(_l("Invalid token.")), code="invalid_token")
    return row


def revoke_token(session: Session, clear: str) -> None:
    """Revoke a bearer token."""
    row = session.execute(
        select(ApiToken).where(ApiToken.token_hash == _token_hash(clear))
    ).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()


def get_by_username(session: Session, username: str) -> User:
    """Look a user up by username."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound(str(_l("No such user: %(u)s", u=username)))
    return user


def account_for_group(
    session: Session, username: str, roles: Collection[UserRole], refusal: str
) -> User:
    """The account a form names (field `username`) to place in a group — a department, an
    organisation — refused with a field error when unknown or not of one of `roles`."""
    user = session.execute(
        select(User).where(User.username == username.strip())
    ).scalar_one_or_none()
    if user is None:
        raise ValidationFailed(fields={"username": str(_l("No such user."))})
    if user.role not in roles:
        raise ValidationFailed(fields={"username": refusal})
    return user


def login(session: Session, username: str, password: str, ip: str | None) -> User:
    """Authenticate and record the attempt (failed ones too) in the audit trail."""
    try:
        user = authenticate(session, username, password)
    except Unauthenticated:
        audit.record(
            session,
            actor=username[:100] or "anonymous",
            action="auth.login_failed",
            object_type="user",
            object_id=username[:100],
            after={"ip": ip},
        )
        session.commit()
        raise
    audit.record(
        session,
        actor=user.username,
        action="auth.login",
        object_type="user",
        object_id=user.id,
        after={"ip": ip},
    )
    session.commit()
    return user
