"""Outbound events: emitting them with the change that causes them, signing, and delivering.

What an event may say is fixed here: ids and states only. No event names or counts an expert,
an invitee or an answer, so no event narrows down who was drawn before (or after) the opening.

Emitting writes one `EventDelivery` per matching subscription in the caller's transaction (the
caller commits), with the body frozen: if the change rolls back, no event exists; if it commits,
the event is delivered at least once, always with the same bytes and event id. Delivery claims
due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL), POSTs outside any transaction, and stores the
outcome; a claim older than the lease is from a dead worker and is sent again (the receiver
drops the duplicate by event id).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

import notify
from expertpool.accounts.models import User
from expertpool.core.db import utcnow
from expertpool.core.errors import BrokenInvariant, Forbidden, NotFound, ValidationFailed
from expertpool.core.pii import PiiCipher
from expertpool.core.texts import _l
from expertpool.events.models import DeliveryStatus, EventDelivery, EventSubscription

log = logging.getLogger(__name__)

#: Which token scope a subscriber needs for each event type (and subscribes to).
EVENT_SCOPES: dict[str, str] = {
    "draw.sealed": "draws:read",
    "panel.opened": "sessions:read",
    "session.opened": "sessions:read",
    "session.closed": "sessions:read",
    "report.signed": "reports:read",
    "project.closed": "projects:read",
}
SUBSCRIBABLE_SCOPES = tuple(sorted(set(EVENT_SCOPES.values())))

#: The only fields an event's data may carry: ids and states (checked at emit time).
ALLOWED_FIELDS = frozenset(
    {
        "project_id",
        "project_code",
        "lot",
        "draw_id",
        "draw_request_id",
        "draw_ids",
        "room_id",
        "status",
        "phase",
        "outcome",
        "failure_kind",
        "pdf_sha256",
        "ledger_seq",
    }
)

SIGNATURE_HEADER = "X-ExpertPool-Signature"
TIMESTAMP_HEADER = "X-ExpertPool-Timestamp"
EVENT_ID_HEADER = "X-ExpertPool-Event-Id"
EVENT_TYPE_HEADER = "X-ExpertPool-Event"

MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)
TIMEOUT_SECONDS = 10.0


def new_secret() -> str:
    """A subscriber's signing secret (shown once at registration)."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`v1=` and the hex HMAC-SHA256 of `"<timestamp>." + body` under the secret."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify(
    secret: str, *, timestamp: str, body: bytes, header: str, now: int, tolerance: int = 300
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, ts, body), header)


# ---------------------------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------------------------


def _check_url(url: str, *, allow_http: bool) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return str(_l("An absolute http(s) address, e.g. https://trading.example.cn/events."))
    if parts.scheme == "http" and not allow_http:
        return str(_l("The address must use https."))
    if parts.username or parts.password:
        return str(_l("The address may not carry a user name or password."))
    return None


def subscribe(
    session: Session,
    *,
    user: User,
    token_scopes: frozenset[str] | None,
    client: str,
    scope: str,
    url: str,
    cipher: PiiCipher,
    allow_http: bool,
    now: datetime,
) -> tuple[EventSubscription, str]:
    """Register `url` for the events of `scope` for the user's centre; returns the subscription
    and its secret (shown once); commits."""
    if user.centre_id is None:
        raise Forbidden(str(_l("Only an account of a trading centre may subscribe.")))
    fields: dict[str, str] = {}
    if scope not in SUBSCRIBABLE_SCOPES:
        fields["scope"] = str(_l("One of: %(s)s.", s=", ".join(SUBSCRIBABLE_SCOPES)))
    elif token_scopes is not None and scope not in token_scopes:
        raise Forbidden(
            str(_l("This token does not hold the scope it subscribes to.")),
            code="insufficient_scope",
        )
    url = (url or "").strip()
    problem = (
        _check_url(url, allow_http=allow_http)
        if len(url) <= 500
        else str(_l("At most 500 characters."))
    )
    if problem:
        fields["url"] = problem
    if fields:
        raise ValidationFailed(fields=fields)
    sub = EventSubscription(
        centre_id=user.centre_id,
        created_by_id=user.id,
        client=(client or "")[:100],
        scope=scope,
        url=url,
        created_at=now,
    )
    session.add(sub)
    session.flush()
    secret = new_secret()
    sub.secret_encrypted = cipher.encrypt(
        secret, table="event_subscription", row_id=sub.id, column="secret"
    )
    session.commit()
    return sub, secret


def subscriptions_of(session: Session, user: User) -> list[EventSubscription]:
    """The active subscriptions of the user's centre (every centre's for an administrator)."""
    stmt = select(EventSubscription).where(EventSubscription.is_active.is_(True))
    if user.centre_id is not None:
        stmt = stmt.where(EventSubscription.centre_id == user.centre_id)
    return list(session.execute(stmt.order_by(EventSubscription.id)).scalars())


def subscription_for(session: Session, user: User, sub_id: int) -> EventSubscription:
    """One subscription the user may see (of its centre), or 404."""
    sub = session.get(EventSubscription, sub_id)
    if sub is None or (user.centre_id is not None and sub.centre_id != user.centre_id):
        raise NotFound()
    return sub


def remove(session: Session, sub: EventSubscription, *, now: datetime) -> None:
    """Stop a subscription; its undelivered events fail (nothing more is sent); commits."""
    sub.is_active = False
    sub.removed_at = now
    for d in session.execute(
        select(EventDelivery).where(
            EventDelivery.subscription_id == sub.id,
            EventDelivery.status == DeliveryStatus.PENDING,
        )
    ).scalars():
        d.status = DeliveryStatus.FAILED
        d.last_error = "subscription removed"
    session.commit()


def deliveries_of(
    session: Session, sub: EventSubscription, limit: int = 100
) -> list[EventDelivery]:
    """The newest deliveries of a subscription."""
    return list(
        session.execute(
            select(EventDelivery)
            .where(EventDelivery.subscription_id == sub.id)
            .order_by(EventDelivery.id.desc())
            .limit(limit)
        ).scalars()
    )


# ---------------------------------------------------------------------------------------------
# Emitting
# ---------------------------------------------------------------------------------------------


def body_of(event_id: str, event_type: str, data: Mapping[str, Any], now: datetime) -> str:
    """The frozen JSON body of an event (keys sorted, compact, UTF-8)."""
    return json.dumps(
        {"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": dict(data)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def emit(
    session: Session,
    *,
    centre_id: int,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
) -> str:
    """Queue one event for every active subscription of the centre holding its scope, in the
    caller's transaction (the caller commits); returns the event id."""
    scope = EVENT_SCOPES.get(event_type)
    if scope is None or not set(data) <= ALLOWED_FIELDS:
        # An event may carry ids and states only: anything else is a programming error.
        raise BrokenInvariant()
    event_id = "evt_" + uuid.uuid4().hex
    body = body_of(event_id, event_type, data, now)
    subs = session.execute(
        select(EventSubscription.id).where(
            EventSubscription.centre_id == centre_id,
            EventSubscription.scope == scope,
            EventSubscription.is_active.is_(True),
        )
    ).scalars()
    for sub_id in subs:
        session.add(
            EventDelivery(
                subscription_id=sub_id,
                event_id=event_id,
                event_type=event_type,
                body=body,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()
    return event_id


# ---------------------------------------------------------------------------------------------
# Delivering
# ---------------------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    """What one delivery pass did (counts only)."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


Post = Callable[[str, bytes, dict[str, str]], int]


def http_post(timeout_seconds: float = TIMEOUT_SECONDS) -> Post:
    """POST with `requests`; returns the HTTP status (redirects are not followed)."""

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        answer = requests.post(
            url, data=body, headers=headers, timeout=timeout_seconds, allow_redirects=False
        )
        return answer.status_code

    return post


def _claim(session: Session, *, now: datetime, worker_id: str, batch: int) -> list[int]:
    stmt = (
        select(EventDelivery)
        .where(
            or_(
                and_(
                    EventDelivery.status == DeliveryStatus.PENDING,
                    EventDelivery.next_attempt_at <= now,
                ),
                and_(
                    EventDelivery.status == DeliveryStatus.SENDING,
                    EventDelivery.locked_at < now - LEASE,
                ),
            )
        )
        .order_by(EventDelivery.next_attempt_at, EventDelivery.id)
        .limit(batch)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = []
    for d in session.execute(stmt).scalars():
        d.status = DeliveryStatus.SENDING
        d.locked_by, d.locked_at = worker_id, now
        ids.append(d.id)
    session.commit()
    return ids


def _secret(cipher: PiiCipher, sub: EventSubscription) -> str:
    if sub.secret_encrypted is None:
        raise BrokenInvariant()
    return cipher.decrypt(
        sub.secret_encrypted, table="event_subscription", row_id=sub.id, column="secret"
    )


def deliver_once(
    session: Session,
    cipher: PiiCipher,
    *,
    now: datetime | None = None,
    worker_id: str = "events",
    batch: int = 20,
    post: Post | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> DeliveryReport:
    """One pass: claim due deliveries, POST each signed, store the outcome (commits)."""
    now = now or clock()
    post = post or http_post()
    report = DeliveryReport()
    ids = _claim(session, now=now, worker_id=worker_id, batch=batch)
    report.claimed = len(ids)
    for delivery_id in ids:
        d = session.get(EventDelivery, delivery_id)
        if d is None:
            continue
        sub = d.subscription
        if not sub.is_active:
            d.status, d.last_error = DeliveryStatus.FAILED, "subscription removed"
            d.locked_by = d.locked_at = None
            session.commit()
            report.failed += 1
            continue
        url, body = sub.url, d.body.encode("utf-8")
        timestamp = int(clock().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "expertpool-events/1",
            EVENT_ID_HEADER: d.event_id,
            EVENT_TYPE_HEADER: d.event_type,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(_secret(cipher, sub), timestamp, body),
        }
        session.commit()  # no transaction is held while the receiver is called
        status: int | None = None
        error: str | None = None
        try:
            status = post(url, body, headers)
        except requests.RequestException as exc:
            error = type(exc).__name__
        d = session.get(EventDelivery, delivery_id, populate_existing=True)
        if d is None:
            continue
        d.attempts += 1
        d.last_status_code = status
        d.locked_by = d.locked_at = None
        if status is not None and 200 <= status < 300:
            d.status, d.delivered_at, d.last_error = DeliveryStatus.DELIVERED, now, None
            report.delivered += 1
        elif d.attempts >= MAX_ATTEMPTS:
            d.status, d.last_error = DeliveryStatus.FAILED, (error or f"HTTP {status}")[:200]
            report.failed += 1
        else:
            delay = notify.backoff_delay(
                d.attempts - 1, jitter=notify.random_jitter(), base_seconds=5, cap_seconds=3600
            )
            d.status = DeliveryStatus.PENDING
            d.next_attempt_at = now + timedelta(seconds=delay)
            d.last_error = (error or f"HTTP {status}")[:200]
            report.retried += 1
        session.commit()
    return report


def delivery_counts(session: Session) -> dict[str, int]:
    """Deliveries per status (numbers only), for the staff page."""
    counts: dict[str, int] = {}
    for status in session.execute(select(EventDelivery.status)).scalars():
        counts[status.value] = counts.get(status.value, 0) + 1
    return counts


def delivery_pass(
    session_factory: Callable[[], Session],
    cipher: Callable[[], PiiCipher],
    *,
    worker_id: str,
    batch: int = 20,
) -> Callable[[datetime], int]:
    """A pass over the event outbox for the notification worker's loop (its `also`); the
    cipher is built when a pass runs (the key files may be installed after start-up)."""

    def run(now: datetime) -> int:
        session = session_factory()
        try:
            return deliver_once(
                session, cipher(), now=now, worker_id=worker_id, batch=batch
            ).claimed
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    return run
