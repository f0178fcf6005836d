"""Texts of the invitation, confirmation and check-in SMS, and the TwiML of the invitation call.

Chinese by default, English on request. The data types hold only what an expert may hear: name,
time, venue, contact. They have no field for bidders, so no prompt can ever name one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from twilio.twiml.voice_response import Gather, VoiceResponse

from notify.webhooks import Reply

__all__ = [
    "CHINA_TIME",
    "Invitation",
    "Language",
    "account_code_sms",
    "answer_twiml",
    "check_in_code_sms",
    "confirmation_sms",
    "format_time",
    "help_sms",
    "invitation_sms",
    "invitation_twiml",
    "machine_twiml",
    "term_reminder_sms",
    "training_reminder_sms",
]

Language = Literal["zh", "en"]

#: Beijing time. China has no daylight saving, so a fixed offset is exact and needs no tzdata.
CHINA_TIME = timezone(timedelta(hours=8), "CST")

_SAY_LANGUAGE: dict[Language, str] = {"zh": "zh-CN", "en": "en-US"}
_DEFAULT_VOICE: dict[Language, str] = {"zh": "Polly.Zhiyu", "en": "Polly.Joanna"}
_WEEKDAYS_ZH = ("一", "二", "三", "四", "五", "六", "日")


@dataclass(frozen=True, slots=True)
class Invitation:
    """What an invitation tells an expert: who is invited, when and where (never bidders)."""

    expert_name: str
    starts_at: datetime
    venue: str
    reply_by: datetime | None = None
    reply_code: str | None = None
    """The invitation's opaque reply code, which the SMS asks the expert to send with the answer
    (an expert may hold several open invitations; the code says which one a reply answers)."""

    def __post_init__(self) -> None:
        """Refuse naive datetimes: every time here is an instant."""
        for name in ("starts_at", "reply_by"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")


def format_time(at: datetime, language: Language = "zh") -> str:
    """Format an instant in Beijing time: `2025年3月5日（星期三）09:30` / `Wed 5 Mar 2025 09:30`."""
    if at.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    local = at.astimezone(CHINA_TIME)
    if language == "zh":
        return (
            f"{local.year}年{local.month}月{local.day}日"
            f"（星期{_WEEKDAYS_ZH[local.weekday()]}）{local:%H:%M}"
        )
    return f"{local:%a} {local.day} {local:%b %Y %H:%M} (Beijing time)"


def invitation_sms(invitation: Invitation, *, link: str, language: Language = "zh") -> str:
    """The invitation SMS: time, venue, how to reply, the one-time link, the deadline if any."""
    when = format_time(invitation.starts_at, language)
    if language == "zh":
        how = (
            f"回复“1 {invitation.reply_code}”接受，回复“2 {invitation.reply_code}”拒绝。"
            if invitation.reply_code
            else "回复1接受，回复2拒绝。"
        )
        text = (
            f"【评标专家邀请】{invitation.expert_name}专家您好，诚邀您于{when}"
            f"在{invitation.venue}参加评标。{how}"
        )
        if invitation.reply_by is not None:
            text += f"请于{format_time(invitation.reply_by, language)}前回复。"
        return text + f"也可通过一次性链接答复：{link}"
    how = (
        f'Reply "1 {invitation.reply_code}" to accept, "2 {invitation.reply_code}" to decline.'
        if invitation.reply_code
        else "Reply 1 to accept, 2 to decline."
    )
    text = (
        f"[Evaluation invitation] Dear {invitation.expert_name}, you are invited to evaluate "
        f"bids on {when} at {invitation.venue}. {how}"
    )
    if invitation.reply_by is not None:
        text += f" Please reply by {format_time(invitation.reply_by, language)}."
    return text + f" Or answer with this one-time link: {link}"


def confirmation_sms(invitation: Invitation, *, contact: str, language: Language = "zh") -> str:
    """The SMS sent after an acceptance: time, the assigned venue and a contact."""
    when = format_time(invitation.starts_at, language)
    if language == "zh":
        return (
            f"【评标确认】{invitation.expert_name}专家，您已确认于{when}在{invitation.venue}"
            f"参加评标，请携带身份证件准时到场。联系方式：{contact}"
        )
    return (
        f"[Evaluation confirmed] {invitation.expert_name}, you are confirmed for {when} at "
        f"{invitation.venue}. Please bring your ID. Contact: {contact}"
    )


def release_sms(invitation: Invitation, *, contact: str, language: Language = "zh") -> str:
    """The SMS to an expert who accepted after the place could no longer be held for them (the
    seat went meanwhile): thanks, and no need to come. Never the project's name or bidders."""
    when = format_time(invitation.starts_at, language)
    if language == "zh":
        return (
            f"【评标通知】{invitation.expert_name}专家，感谢您的答复。原定于{when}的评标席位"
            f"已安排完毕，本次无需到场。联系方式：{contact}"
        )
    return (
        f"[Evaluation] {invitation.expert_name}, thank you for your answer. The places for {when} "
        f"have been filled meanwhile; you need not come. Contact: {contact}"
    )


def called_off_sms(invitation: Invitation, *, contact: str, language: Language = "zh") -> str:
    """The SMS telling an accepted expert that the evaluation will not take place (the tender
    failed or was cancelled): time and venue, never the project's bidders.
    """
    when = format_time(invitation.starts_at, language)
    if language == "zh":
        return (
            f"【评标取消】{invitation.expert_name}专家，原定于{when}在{invitation.venue}的评标"
            f"已取消，无需到场，您的工位已释放。联系方式：{contact}"
        )
    return (
        f"[Evaluation called off] {invitation.expert_name}, the evaluation at {when} at "
        f"{invitation.venue} will not take place; your seat is released. Contact: {contact}"
    )


def postponement_sms(invitation: Invitation, *, contact: str, language: Language = "zh") -> str:
    """The SMS telling an invited or accepted expert the new time of a postponed evaluation."""
    when = format_time(invitation.starts_at, language)
    if language == "zh":
        return (
            f"【评标改期】{invitation.expert_name}专家，您受邀的评标改期至{when}，地点{invitation.venue}。"
            f"如不能参加，请联系{contact}退出，系统将递补其他专家。"
        )
    return (
        f"[Evaluation postponed] {invitation.expert_name}, the evaluation is now at {when} at "
        f"{invitation.venue}. If you cannot attend, contact {contact} to withdraw; the next "
        "expert will be invited."
    )


def check_in_code_sms(
    code: str, *, starts_at: datetime, venue: str, language: Language = "zh"
) -> str:
    """The SMS carrying a check-in code for an evaluation session."""
    when = format_time(starts_at, language)
    if language == "zh":
        return f"【评标签到】您的签到码为{code}，用于{when}在{venue}的评标，请勿告知他人。"
    return (
        f"[Evaluation check-in] Your check-in code is {code} for {when} at {venue}. "
        "Do not share it."
    )


def account_code_sms(code: str, *, username: str, minutes: int, language: str = "zh") -> str:
    """The SMS carrying a one-time code, with the username it is for."""
    if language == "en":
        return (
            f"[Expert account] The code for account {username} is {code}, valid for {minutes} "
            "minutes, to set your password. Do not share it."
        )
    return (
        f"【评标专家账户】账户{username}的验证码为{code}，{minutes}分钟内有效，用于设置登录密码。"
        "请勿告知他人。"
    )


def term_reminder_sms(term_ends_on: date, language: str = "zh") -> str:
    """The SMS telling an expert that their term's renewal window is open."""
    if language == "en":
        return (
            f"[Expert pool] Your term ends on {term_ends_on.isoformat()}. Renewal is open: keep "
            "your record and training up to date; after the end you are not drawn until renewed."
        )
    return (
        f"【评标专家库】您的聘期将于{term_ends_on.isoformat()}届满，续聘已开放。请及时更新信息、"
        "完成继续教育；聘期届满未续聘的，不再参加抽取。"
    )


def training_reminder_sms(year: int, hours: int, required: int, language: str = "zh") -> str:
    """The SMS telling an expert that the training year closes short of hours."""
    if language == "en":
        return (
            f"[Expert pool] Continuing education {year}: {hours} of {required} hours on record. "
            f"Complete them by 31 December {year}, or you will be suspended from draws."
        )
    return (
        f"【评标专家库】您{year}年度继续教育已记录{hours}学时，应完成{required}学时。"
        f"请于{year}年12月31日前完成，逾期将暂停抽取。"
    )


def help_sms(language: Language = "zh") -> str:
    """The answer to a reply that could not be understood."""
    if language == "zh":
        return "【评标专家邀请】未能识别您的回复。请回复数字1接受邀请，或回复数字2拒绝邀请。"
    return (
        "[Evaluation invitation] We could not understand your reply. Reply 1 to accept or 2 to "
        "decline."
    )


def which_invitation_sms(
    invitations: Sequence[Invitation], *, code_unknown: bool = False, language: Language = "zh"
) -> str:
    """The question back when a reply does not say which of several open invitations it answers
    (or names a code that matches none of them): each open invitation's time, place and code.
    Never a guess, never a project's name."""
    if language == "zh":
        lines = "；".join(
            f"{format_time(i.starts_at, language)}在{i.venue}（代码{i.reply_code}）"
            for i in invitations
        )
        head = "未能识别您回复中的代码。" if code_unknown else "您有多个待答复的评标邀请。"
        return (
            f"【评标专家邀请】{head}{lines}。请回复“1 代码”接受或“2 代码”拒绝，"
            "例如“1 " + (invitations[0].reply_code or "") + "”。"
        )
    lines = "; ".join(
        f"{format_time(i.starts_at, language)} at {i.venue} (code {i.reply_code})"
        for i in invitations
    )
    head = (
        "We did not recognise the code in your reply."
        if code_unknown
        else "You have several open evaluation invitations."
    )
    return (
        f'[Evaluation invitation] {head} {lines}. Reply "1 CODE" to accept or "2 CODE" to '
        f'decline, e.g. "1 {invitations[0].reply_code or ""}".'
    )


def _say(parent: VoiceResponse | Gather, text: str, language: Language, voice: str | None) -> None:
    parent.say(text, language=_SAY_LANGUAGE[language], voice=voice or _DEFAULT_VOICE[language])


def invitation_twiml(
    invitation: Invitation,
    *,
    gather_url: str,
    language: Language = "zh",
    voice: str | None = None,
    rounds: int = 2,
    gather_timeout_seconds: int = 8,
) -> str:
    """The TwiML read when an expert answers: name, time, venue, then press 1, 2 or 3.

    The prompt is offered `rounds` times; if no key is pressed a goodbye is said and the call
    ends (the dispatcher retries later, so silence is never taken as an answer).
    """
    when = format_time(invitation.starts_at, language)
    if language == "zh":
        intro = (
            f"您好，{invitation.expert_name}专家。诚邀您于{when}，在{invitation.venue}参加评标。"
        )
        menu = "接受邀请请按1，不能参加请按2，重听请按3。"
        fallback = "未收到您的按键，我们稍后会再次联系您。再见。"
    else:
        intro = (
            f"Hello {invitation.expert_name}. You are invited to evaluate bids on {when}, "
            f"at {invitation.venue}."
        )
        menu = "To accept, press 1. If you cannot attend, press 2. To hear this again, press 3."
        fallback = "We did not receive a key press. We will call you again later. Goodbye."
    response = VoiceResponse()
    for round_number in range(max(1, rounds)):
        gather = Gather(
            num_digits=1,
            action=gather_url,
            method="POST",
            timeout=gather_timeout_seconds,
        )
        if round_number == 0:
            _say(gather, intro, language, voice)
        _say(gather, menu, language, voice)
        response.append(gather)
    _say(response, fallback, language, voice)
    response.hangup()
    return str(response)


def answer_twiml(
    reply: Reply,
    *,
    prompt_url: str,
    language: Language = "zh",
    voice: str | None = None,
) -> str:
    """The TwiML after a key press: thanks and goodbye, or the prompt again (3 or a wrong key)."""
    response = VoiceResponse()
    zh = language == "zh"
    if reply is Reply.ACCEPT:
        text = (
            "您已接受邀请，确认短信稍后发送到您的手机。谢谢，再见。"
            if zh
            else "You have accepted. A confirmation SMS will follow. Thank you, goodbye."
        )
        _say(response, text, language, voice)
        response.hangup()
    elif reply is Reply.DECLINE:
        text = (
            "已记录您不能参加本次评标。谢谢，再见。"
            if zh
            else "We have recorded that you cannot attend. Thank you, goodbye."
        )
        _say(response, text, language, voice)
        response.hangup()
    else:
        if reply is not Reply.REPEAT:
            _say(response, "输入无效。" if zh else "That key is not valid.", language, voice)
        response.redirect(prompt_url, method="POST")
    return str(response)


def machine_twiml() -> str:
    """The TwiML for a call answered by a machine: hang up, leaving no message behind."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
