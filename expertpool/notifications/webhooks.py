"""Provider callbacks (`/webhooks/twilio/...`, `/webhooks/aliyun/<secret>/...`) and the one-time
answer link (`/i/<token>`).

Callbacks are public but every one must carry a valid `X-Twilio-Signature` for the public URL
(`Config.public_base_url` + path + query); anything else gets a 403 and an audit entry.
Alibaba Cloud's pushes carry no signature: they must come to the secret path from an allowed
network (`aliyun_push_secret`, `aliyun_push_sources`), or get the same 403 and audit entry.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

import notify
from expertpool.accounts.access import public
from expertpool.core.db import utcnow
from expertpool.core.errors import BrokenInvariant, NotFound
from expertpool.core.state import config, db, now
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications import links
from expertpool.notifications.notifier import notification_services

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio", template_folder="templates")
aliyun_bp = Blueprint("aliyun_push", __name__, url_prefix="/webhooks/aliyun")
link_bp = Blueprint("invitation_link", __name__)

_EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


def _signed_path() -> str:
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def _verified(
    parse: Callable[[Any], notify.WebhookEvent],
) -> tuple[notify.WebhookEvent | None, Response | None]:
    """Check the signature and parse the form; on failure, the response to send instead."""
    settings = config()
    url = notify.webhook_url(settings.public_base_url, _signed_path())
    if not notify.validate_signature(
        settings.twilio_auth_token, url, request.form, request.headers.get("X-Twilio-Signature")
    ):
        notifications.record_forged_webhook(
            db(), path=request.path, remote_addr=request.remote_addr
        )
        return None, Response("forbidden", status=403, mimetype="text/plain")
    try:
        return parse(request.form), None
    except notify.InvalidWebhook:
        return None, Response("bad request", status=400, mimetype="text/plain")


def _outbox_id() -> int | None:
    return request.args.get("m", type=int)


def _answer(parse: Callable[[Any], notify.WebhookEvent]) -> Response:
    event, refusal = _verified(parse)
    if refusal is not None:
        return refusal
    if event is None:
        raise BrokenInvariant()
    twiml = notifications.handle_webhook(
        db(), event, outbox_id=_outbox_id(), ctx=notification_services().ctx
    )
    return Response(twiml or _EMPTY_TWIML, status=200, mimetype="application/xml")


@bp.route("/voice", methods=["POST"])
@public
def voice() -> Response:
    """The TwiML of an answered call (a hang-up for a machine)."""
    return _answer(notify.parse_voice_prompt)


@bp.route("/gather", methods=["POST"])
@public
def gather() -> Response:
    """The key pressed during the call: 1 accept, 2 decline, 3 repeat."""
    return _answer(notify.parse_gather)


@bp.route("/call-status", methods=["POST"])
@public
def call_status() -> Response:
    """A call's progress (ringing, answered, completed, no-answer...)."""
    return _answer(notify.parse_call_status)


@bp.route("/sms", methods=["POST"])
@public
def sms_inbound() -> Response:
    """An SMS from an expert (reply 1 or 2)."""
    return _answer(notify.parse_inbound_sms)


@bp.route("/sms-status", methods=["POST"])
@public
def sms_status() -> Response:
    """A message's delivery status."""
    return _answer(notify.parse_sms_status)


_ALIYUN_PARSERS: dict[str, Callable[[Any], Sequence[notify.WebhookEvent]]] = {
    "sms-up": notify.parse_sms_up,
    "sms-report": notify.parse_sms_report,
    "voice-report": notify.parse_voice_report,
}


def _source_allowed(remote_addr: str | None, sources: str) -> bool:
    """Whether the push comes from one of the configured networks (none configured: refused)."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return False
    for part in sources.split(","):
        try:
            if part.strip() and address in ipaddress.ip_network(part.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


@aliyun_bp.route("/<secret>/<kind>", methods=["POST"])
@public
def aliyun_push(secret: str, kind: str) -> Response:
    """Alibaba Cloud's HTTP batch push (replies, receipts, call reports with the key pressed).

    The pushes carry no signature: the secret path segment and the source allowlist protect
    them; anything else is refused and audited.
    """
    settings = config()
    parse = _ALIYUN_PARSERS.get(kind)
    expected = settings.aliyun_push_secret
    if (
        settings.notifier != "aliyun"
        or not expected
        or not hmac.compare_digest(secret.encode(), expected.encode())
        or not _source_allowed(request.remote_addr, settings.aliyun_push_sources)
    ):
        notifications.record_forged_webhook(
            db(), path="/webhooks/aliyun/…/" + kind[:20], remote_addr=request.remote_addr
        )
        return Response("forbidden", status=403, mimetype="text/plain")
    if parse is None:
        raise NotFound()
    try:
        events = parse(request.get_json(silent=True))
    except notify.InvalidWebhook:
        return Response("bad request", status=400, mimetype="text/plain")
    session, ctx, at = db(), notification_services().ctx, now()
    for event in events:
        notifications.apply_event(
            session,
            event,
            outbox_id=None,
            now=at,
            ctx=ctx,
            provider=notify.aliyun_adapter.PROVIDER,
        )
    session.commit()
    # The answer Alibaba Cloud's push expects: code 0 means received.
    return Response('{"code":0,"msg":"received"}', status=200, mimetype="application/json")


@link_bp.route("/i/<token>", methods=["GET", "POST"])
@public
def answer(token: str) -> Any:
    """The one-time link of an invitation SMS: the expert accepts or declines once."""
    ctx = notification_services().ctx
    session = db()
    now = utcnow()
    if request.method == "POST":
        choice = request.form.get("answer")
        if choice not in ("accept", "decline"):
            raise NotFound()
        links.answer_by_link(session, token, is_accepted=choice == "accept", now=now, ctx=ctx)
        message = (
            _("Thank you: you have accepted. A confirmation SMS follows.")
            if choice == "accept"
            else _("Thank you: we have recorded that you cannot attend.")
        )
        return render_template("notifications/answer.html", done=message, summary=None, token=token)
    invitation = links.invitation_by_token(session, token, now=now)
    summary = links.link_summary(ctx, invitation)
    return render_template(
        "notifications/answer.html",
        done=None,
        summary=summary,
        token=token,
        when=notify.format_time(summary.starts_at, "zh"),
    )
