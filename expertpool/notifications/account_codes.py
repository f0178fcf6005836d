"""Expert accounts activated, and forgotten passwords replaced, with a one-time SMS code.

A visitor names an account by its username or by the mobile number on the expert's record. When
an expert account matches, a code (`accounts.codes`: stored as a keyed hash, expiring, a few
attempts) goes to the mobile on record through the outbox, like every other SMS: the dispatcher
sends it, nothing logs it, and only the console provider's simulation page shows its text. The
visitor is answered the same whether or not anything matched, and both paths do the same kind of
work (an audit entry and a commit), so neither the page nor its timing tells who has an account.
Entering the code with a new password sets it; every session and API token of the account ends.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import notify
from expertpool.accounts import codes, users
from expertpool.accounts.models import AccountCodePurpose, User, UserRole
from expertpool.core import audit
from expertpool.core.errors import ValidationFailed
from expertpool.core.pii import normalise_phone
from expertpool.core.texts import translated
from expertpool.experts import identity
from expertpool.experts.models import Expert
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.models import OutboxChannel, OutboxKind
from expertpool.notifications.outbox import queue_message

#: At most this many accounts share one mobile number for the purpose of sending codes.
MAX_HOLDERS = 3
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Holder:
    """An expert account and the record whose mobile number receives its codes."""

    user: User
    expert: Expert


def code_sms(code: str, *, username: str, minutes: int, language: str = "zh") -> str:
    """The SMS carrying a one-time code, with the username it is for (`notify`'s text)."""
    return notify.account_code_sms(code, username=username, minutes=minutes, language=language)


def _phone_forms(text: str) -> set[str]:
    """The forms in which a typed mobile number may have been indexed."""
    forms = set()
    with contextlib.suppress(identity.InvalidIdentifier):
        forms.add(identity.check_mobile(text))
    plain = normalise_phone(text)
    if len(plain.lstrip("+")) >= 6:
        forms.add(plain)
    return forms


def holders(session: Session, ctx: NotifyContext, identifier: str) -> list[Holder]:
    """The active expert accounts that a username or a mobile number on record names."""
    text = (identifier or "").strip()[:64]
    if not text:
        return []
    stmt = (
        select(User, Expert)
        .join(Expert, Expert.user_id == User.id)
        .where(
            User.role == UserRole.EXPERT, User.is_active.is_(True), Expert.phone_enc.is_not(None)
        )
    )
    named = session.execute(stmt.where(User.username == text)).first()
    if named is not None:
        return [Holder(named[0], named[1])]
    indexes = {ctx.cipher.blind_index(form, "phone") for form in _phone_forms(text)}
    if not indexes:
        return []
    rows = session.execute(
        stmt.where(Expert.phone_bidx.in_(indexes)).order_by(Expert.id).limit(MAX_HOLDERS)
    ).all()
    return [Holder(user, expert) for user, expert in rows]


def _key(ctx: NotifyContext) -> bytes:
    return codes.code_key(ctx.keys.blind_index_key())


def request_code(
    session: Session,
    ctx: NotifyContext,
    *,
    identifier: str,
    ip: str | None,
    now: datetime,
    language: str = "zh",
) -> int:
    """Queue a code for each expert account the identifier names, unless the account had its
    hourly share already; commits. Returns how many codes were queued: for tests, never for the
    visitor, who gets one answer whatever happens here."""
    config = ctx.config
    sent: list[str] = []
    for holder in holders(session, ctx, identifier):
        user, phone_enc = holder.user, holder.expert.phone_enc
        if phone_enc is None:  # holders() selects records with a number
            continue
        if codes.issued_since(session, user.id, now - timedelta(hours=1)) >= (
            config.account_codes_per_hour
        ):
            continue
        purpose = (
            AccountCodePurpose.RESET if users.has_password(user) else AccountCodePurpose.ACTIVATE
        )
        row, code = codes.issue(
            session,
            key=_key(ctx),
            user=user,
            purpose=purpose,
            ttl=timedelta(minutes=config.account_code_ttl_minutes),
            now=now,
        )
        expert = holder.expert
        phone = ctx.cipher.decrypt(phone_enc, table="expert", row_id=expert.id, column="phone")
        queue_message(
            session,
            ctx,
            key=f"account-code:{row.id}",
            channel=OutboxChannel.SMS,
            kind=OutboxKind.ACCOUNT_CODE_SMS,
            to=phone,
            message=notify.Message(
                notify.MessageKind.ACCOUNT_CODE,
                {
                    "code": code,
                    "username": user.username,
                    "minutes": str(config.account_code_ttl_minutes),
                },
                "en" if language == "en" else "zh",
            ),
            not_before=now,
        )
        sent.append(f"{user.id}:{purpose.value}")
    # One entry whatever was found, so that both paths do the same work.
    audit.record(
        session,
        actor=ANONYMOUS,
        action="account.code_requested",
        object_type="user",
        object_id=",".join(sent),
        after={"ip": ip},
    )
    session.commit()
    return len(sent)


def set_password_with_code(
    session: Session,
    ctx: NotifyContext,
    *,
    identifier: str,
    code: str,
    new: str,
    confirm: str,
    ip: str | None,
    now: datetime,
) -> User:
    """Set the password of the account whose live code this is; commits.

    A wrong, expired, used-up or unknown code gets one answer (`ValidationFailed` on `code`),
    and a wrong entry counts against the live code (committed before the answer). On success
    the code is used up and every session and API token of the account ends.
    """
    fields = users.new_password_errors(new, confirm)
    if not (code or "").strip():
        fields["code"] = str(translated("Required."))
    if fields:
        raise ValidationFailed(fields=fields)
    matched: User | None = None
    for holder in holders(session, ctx, identifier):
        row = codes.redeem(
            session,
            key=_key(ctx),
            user=holder.user,
            code=code,
            max_attempts=ctx.config.account_code_max_attempts,
            now=now,
        )
        if row is not None:
            matched = holder.user
            purpose = row.purpose
            break
    if matched is None:
        audit.record(
            session,
            actor=ANONYMOUS,
            action="account.code_refused",
            object_type="user",
            object_id="",
            after={"ip": ip},
        )
        session.commit()
        raise ValidationFailed(
            fields={"code": str(translated("Wrong or expired code. Ask for a new one."))}
        )
    users.replace_password(session, actor=matched.username, user=matched, password=new)
    audit.record(
        session,
        actor=matched.username,
        action="account.activated" if purpose == "activate" else "account.password_reset",
        object_type="user",
        object_id=matched.id,
        after={"ip": ip},
    )
    session.commit()
    return matched
