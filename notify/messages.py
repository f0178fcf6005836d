"""Messages as kinds with parameters, which each adapter renders in its own way.

The app says *what* to tell an expert (`Message`: a kind, its parameters, a language); an adapter
says *how*: Twilio and the console send the text `render_text` builds (byte for byte the texts of
`voice.py`), a domestic provider sends a registered template's code with the parameters it
declares (`template_params`). Parameters are strings (instants in ISO 8601) so a message can be
stored in the outbox as JSON and rendered by whichever provider is configured when it is sent.

Like the texts, the parameters hold only what an expert may be told: name, time, venue, contact,
codes and links. There is no parameter for bidders, projects or other experts.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from notify.voice import (
    Invitation,
    Language,
    account_code_sms,
    called_off_sms,
    check_in_code_sms,
    confirmation_sms,
    format_time,
    help_sms,
    invitation_sms,
    postponement_sms,
    release_sms,
    term_reminder_sms,
    training_reminder_sms,
    which_invitation_sms,
)

__all__ = [
    "TEMPLATE_VARIABLES",
    "Message",
    "MessageKind",
    "render_text",
    "template_params",
]


class MessageKind(enum.StrEnum):
    """What a message is for (each adapter has one rendering, or one template, per kind)."""

    INVITATION = "invitation"  # SMS: time, venue, how to reply, link, deadline
    INVITATION_CALL = "invitation_call"  # voice: name, time, venue; press 1, 2 or 3
    CONFIRMATION = "confirmation"
    RELEASE = "release"
    CALLED_OFF = "called_off"
    POSTPONEMENT = "postponement"
    CHECK_IN_CODE = "check_in_code"
    HELP = "help"
    WHICH_INVITATION = "which_invitation"
    ACCOUNT_CODE = "account_code"
    TERM_REMINDER = "term_reminder"
    TRAINING_REMINDER = "training_reminder"


#: The parameters each kind requires (others are optional: reply_by, reply_code, link).
REQUIRED: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.INVITATION: ("name", "starts_at", "venue"),
    MessageKind.INVITATION_CALL: ("name", "starts_at", "venue"),
    MessageKind.CONFIRMATION: ("name", "starts_at", "venue", "contact"),
    MessageKind.RELEASE: ("name", "starts_at", "venue", "contact"),
    MessageKind.CALLED_OFF: ("name", "starts_at", "venue", "contact"),
    MessageKind.POSTPONEMENT: ("name", "starts_at", "venue", "contact"),
    MessageKind.CHECK_IN_CODE: ("code", "starts_at", "venue"),
    MessageKind.HELP: (),
    MessageKind.WHICH_INVITATION: ("items",),
    MessageKind.ACCOUNT_CODE: ("code", "username", "minutes"),
    MessageKind.TERM_REMINDER: ("term_ends_on",),
    MessageKind.TRAINING_REMINDER: ("year", "hours", "required"),
}


_ABOUT = ("name", "time", "venue", "contact")
#: The variables each kind's registered template may declare (register templates with these).
TEMPLATE_VARIABLES: dict[MessageKind, tuple[str, ...]] = {
    MessageKind.INVITATION: ("name", "time", "venue", "reply_code", "deadline", "link"),
    MessageKind.INVITATION_CALL: ("name", "time", "venue"),
    MessageKind.CONFIRMATION: _ABOUT,
    MessageKind.RELEASE: _ABOUT,
    MessageKind.CALLED_OFF: _ABOUT,
    MessageKind.POSTPONEMENT: _ABOUT,
    MessageKind.CHECK_IN_CODE: ("code", "time", "venue"),
    MessageKind.HELP: (),
    MessageKind.WHICH_INVITATION: ("codes", "code_unknown"),
    MessageKind.ACCOUNT_CODE: ("code", "username", "minutes"),
    MessageKind.TERM_REMINDER: ("term_ends_on",),
    MessageKind.TRAINING_REMINDER: ("year", "hours", "required"),
}


@dataclass(frozen=True, slots=True)
class Message:
    """One message to one person: its kind, its parameters (strings) and its language."""

    kind: MessageKind
    params: Mapping[str, str] = field(default_factory=dict)
    language: Language = "zh"

    def __post_init__(self) -> None:
        """Refuse a message missing a parameter its kind requires, or a non-string value."""
        missing = [p for p in REQUIRED[self.kind] if p not in self.params]
        if missing:
            raise ValueError(f"{self.kind.value} needs {', '.join(missing)}")
        if not all(isinstance(v, str) for v in self.params.values()):
            raise ValueError("message parameters are strings")

    @classmethod
    def about(
        cls,
        kind: MessageKind,
        invitation: Invitation,
        *,
        language: Language = "zh",
        **extra: str,
    ) -> Message:
        """A message about one invitation: its name, time, venue (and deadline, reply code)."""
        params = {
            "name": invitation.expert_name,
            "starts_at": invitation.starts_at.isoformat(),
            "venue": invitation.venue,
            **extra,
        }
        if invitation.reply_by is not None:
            params["reply_by"] = invitation.reply_by.isoformat()
        if invitation.reply_code:
            params["reply_code"] = invitation.reply_code
        return cls(kind, params, language)

    @classmethod
    def which_invitation(
        cls, invitations: Sequence[Invitation], *, code_unknown: bool, language: Language = "zh"
    ) -> Message:
        """The question back listing several open invitations (time, venue, code each)."""
        items = [[i.starts_at.isoformat(), i.venue, i.reply_code or ""] for i in invitations]
        params = {"items": json.dumps(items, ensure_ascii=False)}
        if code_unknown:
            params["code_unknown"] = "1"
        return cls(MessageKind.WHICH_INVITATION, params, language)

    def to_json(self) -> str:
        """The message as JSON (for the outbox)."""
        return json.dumps(
            {"kind": self.kind.value, "params": dict(self.params), "language": self.language},
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Message:
        """The message back from `to_json`."""
        data: dict[str, Any] = json.loads(text)
        language: Language = "en" if data.get("language") == "en" else "zh"
        return cls(MessageKind(data["kind"]), dict(data.get("params", {})), language)

    def invitation(self) -> Invitation:
        """The invitation the message is about (for the kinds about one)."""
        p = self.params
        return Invitation(
            p["name"],
            datetime.fromisoformat(p["starts_at"]),
            p["venue"],
            reply_by=datetime.fromisoformat(p["reply_by"]) if p.get("reply_by") else None,
            reply_code=p.get("reply_code") or None,
        )


def _items(message: Message) -> list[Invitation]:
    return [
        Invitation("", datetime.fromisoformat(at), venue, reply_code=code or None)
        for at, venue, code in json.loads(message.params["items"])
    ]


def render_text(message: Message) -> str:
    """The SMS text of a message, as Twilio and the console send it (the texts of `voice.py`)."""
    p, lang, kind = message.params, message.language, message.kind
    if kind is MessageKind.INVITATION:
        return invitation_sms(message.invitation(), link=p.get("link", ""), language=lang)
    if kind is MessageKind.CONFIRMATION:
        return confirmation_sms(message.invitation(), contact=p["contact"], language=lang)
    if kind is MessageKind.RELEASE:
        return release_sms(message.invitation(), contact=p["contact"], language=lang)
    if kind is MessageKind.CALLED_OFF:
        return called_off_sms(message.invitation(), contact=p["contact"], language=lang)
    if kind is MessageKind.POSTPONEMENT:
        return postponement_sms(message.invitation(), contact=p["contact"], language=lang)
    if kind is MessageKind.CHECK_IN_CODE:
        return check_in_code_sms(
            p["code"],
            starts_at=datetime.fromisoformat(p["starts_at"]),
            venue=p["venue"],
            language=lang,
        )
    if kind is MessageKind.HELP:
        return help_sms(lang)
    if kind is MessageKind.WHICH_INVITATION:
        return which_invitation_sms(
            _items(message), code_unknown=p.get("code_unknown") == "1", language=lang
        )
    if kind is MessageKind.ACCOUNT_CODE:
        return account_code_sms(
            p["code"], username=p["username"], minutes=int(p["minutes"]), language=lang
        )
    if kind is MessageKind.TERM_REMINDER:
        return term_reminder_sms(date.fromisoformat(p["term_ends_on"]), lang)
    if kind is MessageKind.TRAINING_REMINDER:
        return training_reminder_sms(int(p["year"]), int(p["hours"]), int(p["required"]), lang)
    raise ValueError(f"{kind.value} is not sent as text")


def template_params(message: Message, *, link_allowed: bool = False) -> dict[str, str]:
    """The variables of a registered template for a message: short strings, times formatted in
    Beijing time, only those `TEMPLATE_VARIABLES` lists for its kind, and the link only where
    the template declares one (`link_allowed`)."""
    p, lang = message.params, message.language
    allowed = TEMPLATE_VARIABLES[message.kind]
    out: dict[str, str] = {}
    for key, value in p.items():
        if key in ("starts_at", "reply_by"):
            out["time" if key == "starts_at" else "deadline"] = format_time(
                datetime.fromisoformat(value), lang
            )
        elif key == "link":
            if link_allowed:
                out["link"] = value
        elif key == "items":
            # Several open invitations: their codes (a template has a fixed number of variables).
            out["codes"] = "、".join(code for _at, _venue, code in json.loads(value) if code)
        else:
            out[key] = value
    return {k: v for k, v in out.items() if k in allowed}
