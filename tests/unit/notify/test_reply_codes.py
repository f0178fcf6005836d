"""Reply codes: generated codes are always recognised, with any answer, in any place and case;
a text with two different codes is unclear."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from notify import Reply, new_reply_code, split_reply
from notify.webhooks import REPLY_CODE_DIGITS, REPLY_CODE_LETTERS

codes = st.builds(
    lambda a, b, c, d: a + b + c + d,
    st.sampled_from(REPLY_CODE_LETTERS),
    st.sampled_from(REPLY_CODE_LETTERS),
    st.sampled_from(REPLY_CODE_DIGITS),
    st.sampled_from(REPLY_CODE_DIGITS),
)
ANSWERS = [
    ("1", Reply.ACCEPT),
    ("2", Reply.DECLINE),
    ("接受", Reply.ACCEPT),
    ("拒绝", Reply.DECLINE),
]


@given(
    code=codes,
    answer=st.sampled_from(ANSWERS),
    code_first=st.booleans(),
    lower=st.booleans(),
    sep=st.sampled_from([" ", "  ", "，", ",", "\n"]),
)
def test_a_code_and_an_answer_are_read_in_any_order_and_case(
    code: str, answer: tuple[str, Reply], code_first: bool, lower: bool, sep: str
) -> None:
    shown = code.lower() if lower else code
    text = f"{shown}{sep}{answer[0]}" if code_first else f"{answer[0]}{sep}{shown}"
    assert split_reply(text) == (answer[1], code)


def test_generated_codes_have_the_published_shape_and_vary() -> None:
    made = {new_reply_code() for _ in range(200)}
    assert len(made) > 150
    for code in made:
        assert split_reply(f"1 {code}") == (Reply.ACCEPT, code)


def test_bare_answers_carry_no_code_and_two_codes_are_unclear() -> None:
    assert split_reply("1") == (Reply.ACCEPT, None)
    assert split_reply("好的") == (Reply.ACCEPT, None)
    assert split_reply("1 KQ27 MN34") == (Reply.UNKNOWN, None)
    assert split_reply("1 KQ27 kq27") == (Reply.ACCEPT, "KQ27")  # the same code twice
    # Letters that read like digits (I, L, O) are not in codes: "IO23" is no code.
    assert split_reply("1 IO23") == (Reply.ACCEPT, None)
