"""The secondary-venue pick (`draws/remote.py`): pure, reproducible from its document, each quota
seated at a venue with enough free seats, one venue per centre, and any change to the document
is caught by the verifier."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from draw import cjson
from expertpool.draws.remote import VERSION, Offer, pick_venues, seed_of, verify_pick

CENTRES = ("440300", "440400", "440500", "440600", "440700")


@st.composite
def cases(draw: Any) -> tuple[str, list[int], list[Offer]]:
    offers = [
        Offer(venue_id=i + 1, centre=draw(st.sampled_from(CENTRES)), free=draw(st.integers(1, 6)))
        for i in range(draw(st.integers(1, 8)))
    ]
    quotas = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    seed = draw(st.text("0123456789abcdef", min_size=64, max_size=64))
    return seed, quotas, offers


@settings(max_examples=60, deadline=None)
@given(cases())
def test_each_quota_gets_a_venue_with_enough_seats_one_per_centre(
    case: tuple[str, list[int], list[Offer]],
) -> None:
    seed, quotas, offers = case
    try:
        picked = pick_venues(seed, quotas, offers)
    except LookupError as exc:
        n = exc.args[0]
        taken = {o.centre for o in pick_venues(seed, quotas[: n - 1], offers)} if n > 1 else set()
        assert not [o for o in offers if o.free >= quotas[n - 1] and o.centre not in taken]
        return
    assert len(picked) == len(quotas)
    assert all(o.free >= q for o, q in zip(picked, quotas, strict=True))
    assert len({o.centre for o in picked}) == len(picked)
    # The order the offers come in does not matter: the pick is reproducible from the document.
    assert pick_venues(seed, quotas, list(reversed(offers))) == picked


def _document() -> tuple[dict[str, Any], str, str]:
    offers = [Offer(1, "440300", 4), Offer(2, "440400", 4), Offer(3, "440500", 1)]
    nonce = "ab" * 32
    seed = seed_of("0" * 64, 7, nonce)
    picked = pick_venues(seed, [2, 2], offers)
    doc = {
        "version": VERSION,
        "request_id": 7,
        "ledger_head": "0" * 64,
        "nonce": nonce,
        "seed": seed,
        "offers": [o.to_json() for o in offers],
        "groups": [
            {"group": f"remote-{n}", "quota": 2, "venue_id": o.venue_id, "centre": o.centre}
            for n, o in enumerate(picked, start=1)
        ],
    }
    return doc, cjson.digest(doc), cjson.digest([VERSION, nonce])


def test_the_verifier_accepts_the_pick_and_catches_any_change() -> None:
    doc, pick_digest, nonce_digest = _document()
    assert verify_pick(doc, pick_digest=pick_digest, nonce_digest=nonce_digest) == []
    swapped = {**doc, "groups": list(reversed(doc["groups"]))}
    assert verify_pick(swapped, pick_digest=cjson.digest(swapped), nonce_digest=nonce_digest)
    other_nonce = {**doc, "nonce": "cd" * 32}
    assert verify_pick(other_nonce, pick_digest=pick_digest, nonce_digest=nonce_digest)


@pytest.mark.parametrize("quota", [5, 9])
def test_a_quota_no_venue_can_seat_is_refused(quota: int) -> None:
    with pytest.raises(LookupError):
        pick_venues("0" * 64, [quota], [Offer(1, "440300", 4)])
