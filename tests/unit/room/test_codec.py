"""The state codec: specialised encoders and decoders give what a plain field walk gives."""

from __future__ import annotations

import dataclasses
import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from evaluation_room._codec import decode, encode
from evaluation_room.model import Phase
from evaluation_room.state import RoomState
from tests.unit.room.support import RoomDriver


def reference(value: Any) -> Any:
    """The plain recursive walk the specialised encoders must agree with."""
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: reference(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): reference(v) for k, v in value.items()}
    return [reference(v) for v in value]


@pytest.mark.parametrize(
    "phase", [Phase.SCHEDULED, Phase.SCORING, Phase.DEVIATION_REVIEW, Phase.SIGNING, Phase.ARCHIVED]
)
def test_every_phase_encodes_like_the_plain_walk_and_round_trips(phase: Phase) -> None:
    d = RoomDriver()
    d.to(phase, sign_all=phase is Phase.ARCHIVED)
    state: RoomState = d.room._s
    encoded = encode(state)
    assert encoded == reference(state)
    assert encode(decode(RoomState, encoded)) == encoded
    assert decode(RoomState, encoded) == state


def test_bad_values_are_refused_in_both_directions() -> None:
    with pytest.raises(ValueError, match="naive"):
        encode({"at": datetime(2026, 1, 1)})
    with pytest.raises(TypeError):
        encode({"x": 1.5})
    with pytest.raises(TypeError, match="floats"):
        decode(Decimal, 1.5)
    with pytest.raises(TypeError, match="expected str"):
        decode(str, 3)
    state = encode(RoomDriver().room._s)
    state["seq"] = "7"
    with pytest.raises(TypeError, match="expected int"):
        decode(RoomState, state)
    assert decode(datetime, "2026-01-01T00:00:00+00:00") == datetime(2026, 1, 1, tzinfo=UTC)
