"""Tests of the invitation call's TwiML and of the SMS texts."""

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from notify.voice import (
    Invitation,
    answer_twiml,
    check_in_code_sms,
    confirmation_sms,
    format_time,
    help_sms,
    invitation_sms,
    invitation_twiml,
    machine_twiml,
)
from notify.webhooks import Reply

# 2025-03-05 09:30 in Beijing.
STARTS_AT = datetime(2025, 3, 5, 1, 30, tzinfo=UTC)
INVITATION = Invitation(
    expert_name="张三",
    starts_at=STARTS_AT,
    venue="广州市公共资源交易中心三楼评标室",
    reply_by=datetime(2025, 3, 4, 8, 0, tzinfo=UTC),
)
GATHER_URL = "https://pool.example.gov.cn/notify/gather?attempt=7&sig=a"
PROMPT_URL = "https://pool.example.gov.cn/notify/voice?attempt=7"


def _xml(twiml):
    return ET.fromstring(twiml.encode("utf-8"))


def test_times_are_read_in_beijing_time():
    assert format_time(STARTS_AT) == "2025年3月5日（星期三）09:30"
    assert format_time(STARTS_AT, "en") == "Wed 5 Mar 2025 09:30 (Beijing time)"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        Invitation(expert_name="张三", starts_at=datetime(2025, 3, 5, 9, 30), venue="v")
    with pytest.raises(ValueError):
        format_time(datetime(2025, 3, 5, 9, 30))


def test_an_invitation_holds_no_field_that_could_name_a_bidder():
    names = {f.name for f in dataclasses.fields(Invitation)}
    assert names == {"expert_name", "starts_at", "venue", "reply_by", "reply_code"}


def test_the_invitation_call_reads_name_time_and_venue_in_mandarin_then_gathers_one_digit():
    root = _xml(invitation_twiml(INVITATION, gather_url=GATHER_URL))
    assert root.tag == "Response"
    gathers = root.findall("Gather")
    assert len(gathers) == 2
    for gather in gathers:
        assert gather.get("numDigits") == "1"
        assert gather.get("action") == GATHER_URL
        assert gather.get("method") == "POST"
    first_says = gathers[0].findall("Say")
    spoken = "".join(say.text or "" for say in first_says)
    assert all(say.get("language") == "zh-CN" for say in root.iter("Say"))
    assert "张三" in spoken
    assert "2025年3月5日" in spoken and "09:30" in spoken
    assert "广州市公共资源交易中心三楼评标室" in spoken
    assert "按1" in spoken and "按2" in spoken and "按3" in spoken


def test_the_invitation_call_says_goodbye_and_hangs_up_when_no_key_is_pressed():
    root = _xml(invitation_twiml(INVITATION, gather_url=GATHER_URL, rounds=1))
    children = [child.tag for child in root]
    assert children == ["Gather", "Say", "Hangup"]
    assert "再见" in (root.find("Say").text or "")


def test_the_english_invitation_call_uses_an_english_voice():
    root = _xml(invitation_twiml(INVITATION, gather_url=GATHER_URL, language="en"))
    says = list(root.iter("Say"))
    assert all(say.get("language") == "en-US" for say in says)
    assert "press 1" in "".join(say.text or "" for say in says)


def test_accepting_by_key_thanks_and_hangs_up():
    root = _xml(answer_twiml(Reply.ACCEPT, prompt_url=PROMPT_URL))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "确认短信" in (root.find("Say").text or "")


def test_declining_by_key_says_goodbye_and_hangs_up():
    root = _xml(answer_twiml(Reply.DECLINE, prompt_url=PROMPT_URL))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "再见" in (root.find("Say").text or "")


def test_pressing_three_replays_the_invitation():
    root = _xml(answer_twiml(Reply.REPEAT, prompt_url=PROMPT_URL))
    assert [child.tag for child in root] == ["Redirect"]
    assert root.find("Redirect").text == PROMPT_URL


def test_a_wrong_key_is_explained_then_the_invitation_replays():
    root = _xml(answer_twiml(Reply.UNKNOWN, prompt_url=PROMPT_URL))
    assert [child.tag for child in root] == ["Say", "Redirect"]
    assert "无效" in (root.find("Say").text or "")


def test_a_machine_is_hung_up_on_without_a_message():
    root = _xml(machine_twiml())
    assert [child.tag for child in root] == ["Hangup"]


def test_the_invitation_sms_has_time_venue_reply_keys_deadline_and_link():
    text = invitation_sms(INVITATION, link="https://pool.example.gov.cn/i/Zx9")
    assert "2025年3月5日（星期三）09:30" in text
    assert INVITATION.venue in text
    assert "回复1接受，回复2拒绝" in text
    assert "2025年3月4日（星期二）16:00前回复" in text
    assert text.endswith("https://pool.example.gov.cn/i/Zx9")


def test_the_english_invitation_sms_has_the_same_facts():
    text = invitation_sms(INVITATION, link="https://x/i/1", language="en")
    assert "Reply 1 to accept, 2 to decline" in text
    assert "Wed 5 Mar 2025 09:30" in text
    assert "https://x/i/1" in text


def test_the_confirmation_sms_has_time_venue_and_contact():
    text = confirmation_sms(INVITATION, contact="020-12345678 李老师")
    assert "09:30" in text and INVITATION.venue in text and "020-12345678 李老师" in text
    assert "Contact: 020" in confirmation_sms(INVITATION, contact="020", language="en")


def test_the_check_in_sms_carries_the_code():
    text = check_in_code_sms("482913", starts_at=STARTS_AT, venue="第二评标室")
    assert "482913" in text and "第二评标室" in text
    assert "482913" in check_in_code_sms("482913", starts_at=STARTS_AT, venue="v", language="en")


def test_the_help_sms_explains_how_to_reply():
    assert "1" in help_sms() and "2" in help_sms()
    assert "Reply 1" in help_sms("en")
