"""Users, their roles, the city trading centres and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from expertpool.core.db import Base, UTCDateTime, utcnow


class UserRole(enum.StrEnum):
    """The kinds of user. One account holds exactly one role.

    The three administrators are separated (三员分立): `ADMIN` is the system administrator
    (accounts, terminals, venues, settings), `SECURITY_ADMIN` grants roles and keeps the keys,
    `AUDIT_ADMIN` reads and exports the audit trail and nothing else. `ORG_CONTACT` is a contact
    of a tenderer or an agency; `REPRESENTATIVE` the account a tenderer's representative gets when
    the session they sit on opens.
    """

    EXPERT = "expert"
    REVIEWER = "reviewer"
    CENTRE_STAFF = "centre_staff"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"
    ORG_CONTACT = "org_contact"
    REPRESENTATIVE = "representative"  # a tenderer's representative seated on one committee

    @property
    def is_administrator(self) -> bool:
        """Whether this is one of the three separated administrator roles."""
        return self in ADMINISTRATORS


ADMINISTRATORS = frozenset({UserRole.ADMIN, UserRole.SECURITY_ADMIN, UserRole.AUDIT_ADMIN})
"""The three administrators; no account holds two of them (one role per account)."""


class Centre(Base):
    """A public-resource trading centre (one per city, plus Shunde's)."""

    __tablename__ = "centre"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(100))


class User(Base):
    """A person who logs in."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        Enum(UserRole, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), default=None)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(8), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    centre: Mapped[Centre | None] = relationship()

    def has_role(self, *roles: UserRole) -> bool:
        """Whether the user holds one of these roles."""
        return self.role in roles


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored.

    `client` names the machine client (a centre's trading system, a tool) the token was issued
    for; `scopes` (space-separated) narrows what the token may call. A token without scopes is a
    person's own token and may call whatever the person's role may.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    client: Mapped[str | None] = mapped_column(String(100), default=None)
    scopes: Mapped[str | None] = mapped_column(String(500), default=None)

    user: Mapped[User] = relationship()

    @property
    def scope_set(self) -> frozenset[str] | None:
        """The scopes this token is limited to, or None when it is not limited."""
        return None if self.scopes is None else frozenset(self.scopes.split())


class LoginSession(Base):
    """One login of a person in a browser, kept on the server so that it can be ended.

    The browser's signed cookie holds a random token; only its SHA-256 is stored. A session ends
    at logout, when its account's password, role or active flag changes, when its owner ends it
    from the account page, after `session_idle_minutes` without a request and
    `session_absolute_hours` after the login, whichever comes first (`expertpool.accounts.logins`).
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    end_reason: Mapped[str | None] = mapped_column(String(20), default=None)
    # Shown to the account's owner on the account page, to recognise their own devices.
    address: Mapped[str | None] = mapped_column(String(45), default=None)
    agent: Mapped[str | None] = mapped_column(String(200), default=None)


class IdempotentCall(Base):
    """A creating call made with an `Idempotency-Key`: the answer to replay for a retry.

    Keys are per token. The body's SHA-256 tells a retry (same body) from a misuse of the key
    (another body). The answer is stored encrypted (it may hold a one-time credential).
    """

    __tablename__ = "api_idempotent_call"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_api_idempotent_call_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer, default=None)
    answer_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AccountCodePurpose(enum.StrEnum):
    """Why a one-time code was sent: a first password, or a forgotten one."""

    ACTIVATE = "activate"
    RESET = "reset"


class AccountCode(Base):
    """A one-time code sent by SMS to set an expert's password; only its keyed hash is stored.

    A code is live until it is used, expires or runs out of attempts; a newer code of the same
    account supersedes it.
    """

    __tablename__ = "account_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10))
    code_hash: Mapped[str] = mapped_column(String(64), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
