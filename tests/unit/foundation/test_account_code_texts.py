"""The one-time account code's SMS names the account and the lifetime, in either language."""

from __future__ import annotations

import pytest

from expertpool.accounts import codes
from expertpool.notifications.account_codes import code_sms


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_code_sms_carries_the_code_the_username_and_the_lifetime(language: str) -> None:
    text = code_sms("042917", username="e00042", minutes=10, language=language)
    assert "042917" in text and "e00042" in text and "10" in text
    assert ("验证码" in text) is (language == "zh")


def test_the_code_key_is_derived_and_differs_from_the_blind_index_key() -> None:
    blind = bytes(range(32))
    key = codes.code_key(blind)
    assert len(key) == 32 and key != blind and codes.code_key(blind) == key
    assert codes.code_key(bytes(32)) != key
