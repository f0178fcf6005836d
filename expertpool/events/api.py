"""The JSON API of outbound events (under /api/v1): a trading system registers a URL per scope,
lists and removes its subscriptions, and reads each subscription's deliveries.

The signing secret is answered once, at registration; afterwards nothing shows it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import ConfigDict, Field

from expertpool.accounts.access import current_token, require_user, roles
from expertpool.accounts.models import UserRole
from expertpool.core.api import (
    PREFIX,
    Model,
    Out,
    PageMeta,
    PageQuery,
    body,
    operation,
    page_of,
    query,
)
from expertpool.core.pii import PiiCipher
from expertpool.core.state import db, now, state
from expertpool.events import events
from expertpool.events.models import EventDelivery, EventSubscription

bp = Blueprint("events_api", __name__, url_prefix=PREFIX)
TAGS = ["events"]
MANAGERS = (UserRole.CENTRE_STAFF,)


class SubscriptionIn(Model):
    """Where to POST the events of one scope."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"scope": "sessions:read", "url": "https://trading.example.cn/events"}]
        },
    )

    scope: str = Field(max_length=40, description="The scope whose events to receive.")
    url: str = Field(max_length=500, description="An https address that accepts POSTs.")


class SubscriptionOut(Out):
    id: int
    scope: str
    url: str
    client: str
    event_types: list[str] = Field(description="The events this subscription receives.")
    created_at: str


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str = Field(description="The signing secret, shown this once only.")


class SubscriptionListOut(PageMeta):
    items: list[SubscriptionOut]


class DeliveryOut(Out):
    event_id: str
    event_type: str
    status: str = Field(description="pending, sending, delivered or failed.")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: str
    delivered_at: str | None
    next_attempt_at: str


class DeliveryListOut(PageMeta):
    items: list[DeliveryOut]


def subscription_view(sub: EventSubscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "scope": sub.scope,
        "url": sub.url,
        "client": sub.client,
        "event_types": sorted(t for t, s in events.EVENT_SCOPES.items() if s == sub.scope),
        "created_at": sub.created_at.isoformat(),
    }


def delivery_view(d: EventDelivery) -> dict[str, Any]:
    return {
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status.value,
        "attempts": d.attempts,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat(),
        "delivered_at": d.delivered_at.isoformat() if d.delivered_at else None,
        "next_attempt_at": d.next_attempt_at.isoformat(),
    }


@bp.route("/event-subscriptions", methods=["POST"])
@roles(*MANAGERS)
@operation(
    tags=TAGS, scope="events:subscribe", json=SubscriptionIn, HTTP_201=SubscriptionCreatedOut
)
def subscription_create() -> Any:
    """Register a URL for the events of one scope of your centre (the token must hold it)."""
    data = body(SubscriptionIn)
    token = current_token()
    sub, secret = events.subscribe(
        db(),
        user=require_user(),
        token_scopes=token.scope_set if token is not None else None,
        client=(token.client or "") if token is not None else "",
        scope=data.scope,
        url=data.url,
        cipher=PiiCipher.from_keys(state().keys),
        allow_http=state().config.events_allow_http,
        now=now(),
    )
    return jsonify({**subscription_view(sub), "secret": secret}), 201


@bp.route("/event-subscriptions", methods=["GET"])
@roles(*MANAGERS)
@operation(tags=TAGS, scope="events:subscribe", query=PageQuery, HTTP_200=SubscriptionListOut)
def subscription_list() -> Any:
    """Your centre's active subscriptions (never their secrets), paged."""
    subs = events.subscriptions_of(db(), require_user())
    return jsonify(page_of(subs, query(PageQuery), subscription_view))


@bp.route("/event-subscriptions/<int:sub_id>", methods=["DELETE"])
@roles(*MANAGERS)
@operation(tags=TAGS, scope="events:subscribe", HTTP_204=None)
def subscription_delete(sub_id: int) -> Any:
    """Stop a subscription; its undelivered events are dropped."""
    sub = events.subscription_for(db(), require_user(), sub_id)
    events.remove(db(), sub, now=now())
    return "", 204


@bp.route("/event-subscriptions/<int:sub_id>/deliveries", methods=["GET"])
@roles(*MANAGERS)
@operation(tags=TAGS, scope="events:subscribe", query=PageQuery, HTTP_200=DeliveryListOut)
def subscription_deliveries(sub_id: int) -> Any:
    """A subscription's deliveries, newest first (the last 1000): event ids, types and states."""
    sub = events.subscription_for(db(), require_user(), sub_id)
    deliveries = events.deliveries_of(db(), sub, limit=1000)
    return jsonify(page_of(deliveries, query(PageQuery), delivery_view))
