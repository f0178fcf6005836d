"""The Socket.IO packet of the app: the same wire text as the stock packet, serialised once."""

from __future__ import annotations

import json
from typing import Any

import pytest
from socketio import packet

from expertpool.rooms.socketio import FastJson, JsonPacket

SNAPSHOT = {
    "room_id": "r1",
    "seq": 12,
    "phase": "scoring",
    "viewer": {"alias": "专家1", "last_request": 0},
    "scores": {"B001": {"tech": "40.5"}},
    "flags": None,
    "ok": True,
    "list": [1, "二", None],
}


@pytest.mark.parametrize("kind", [packet.EVENT, packet.ACK])
@pytest.mark.parametrize("namespace", [None, "/", "/room"])
@pytest.mark.parametrize("pid", [None, 7])
def test_the_wire_text_parses_to_what_the_stock_packet_sends(
    kind: int, namespace: str | None, pid: int | None
) -> None:
    data: list[Any] = ["snapshot", SNAPSHOT] if kind == packet.EVENT else [SNAPSHOT]
    ours = JsonPacket(kind, data=data, namespace=namespace, id=pid).encode()
    stock = packet.Packet(kind, data=data, namespace=namespace, id=pid).encode()
    head = len(stock) - len(json.dumps(data, separators=(",", ":")))
    assert ours[: len(stock[:head])] == stock[:head]
    assert json.loads(ours[head:]) == json.loads(stock[head:]) == data
    # And it decodes back through the same class.
    back = JsonPacket(encoded_packet=ours)
    assert (back.packet_type, back.id, back.data) == (kind, pid, data)


def test_binary_payloads_keep_the_stock_binary_handling() -> None:
    p = JsonPacket(packet.EVENT, data=["file", {"blob": b"\x00\x01"}], namespace="/room")
    assert p.packet_type == packet.BINARY_EVENT
    encoded = p.encode()
    assert isinstance(encoded, list) and encoded[1] == b"\x00\x01"


def test_json_module_matches_the_standard_library_and_accepts_what_it_accepts() -> None:
    assert json.loads(FastJson.dumps(SNAPSHOT, separators=(",", ":"))) == SNAPSHOT
    assert FastJson.loads('{"a": [1, "二"]}') == {"a": [1, "二"]}
    value = FastJson.loads('{"score": NaN}')  # orjson refuses NaN; the fallback reads it as before
    assert value["score"] != value["score"]
    with pytest.raises(ValueError):
        FastJson.loads("{not json")
