"""The Socket.IO server of the app and the evaluation room registered on it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from flask import Flask, request
from flask_socketio import SocketIO
from socketio import Manager, RedisManager
from socketio.packet import Packet
from werkzeug.serving import run_simple

import evaluation_room
from evaluation_room.handlers import ChatLog, Identity, RoomHandlers
from evaluation_room.ports import (
    Authenticator,
    CodeSender,
    ConflictChecker,
    ReplacementProvider,
    RoomStore,
)
from expertpool.core import edge
from expertpool.core.config import Config


class FastJson:
    """The ``json`` module given to Socket.IO and Engine.IO: orjson, with the standard library's
    API.

    Output is the same JSON (UTF-8 rather than ``\\u`` escapes); input orjson refuses (NaN,
    say) is left to the standard library, so what a client may send does not change.
    """

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:
        """Serialise ``obj`` compactly (the options Socket.IO passes are orjson's defaults)."""
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(text: str | bytes, **options: Any) -> Any:
        """Parse JSON text."""
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return json.loads(text, **options)


class JsonPacket(Packet):  # type: ignore[misc]
    """A Socket.IO packet that serialises its data once, in C.

    The stock packet walks every payload in Python to look for binary parts, then serialises it
    with the standard library: at nine personal snapshots per room change that was a tenth of a
    busy server's time. Here the payload is serialised first; bytes make orjson fail, and then
    the stock binary handling takes over.
    """

    json = FastJson

    def __init__(
        self,
        packet_type: int = 2,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,
        binary: bool | None = None,
        encoded_packet: Any = None,
    ) -> None:
        self._text: str | None = None
        if binary is None and encoded_packet is None and data is not None:
            try:
                self._text = FastJson.dumps(data)
                binary = False
            except TypeError:
                pass
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)

    def encode(self) -> Any:
        """Encode for transmission, reusing the serialised payload."""
        if self._text is None:
            return super().encode()
        out = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            out += self.namespace + ","
        if self.id is not None:
            out += str(self.id)
        return out + self._text


def _release_routing_exception(_exc: BaseException | None = None) -> None:
    """Drop the traceback of the request's routing failure, which would otherwise be a cycle.

    Flask-SocketIO runs every event inside a request context built from the connection's
    ``/socket.io/`` environ, which matches no route: Flask records a ``NotFound`` (chained to
    werkzeug's ``NoMatch``) whose traceback holds the frame that holds the context that holds
    the exception. Only the cyclic collector could free those, and at tens of events a second
    its pauses (100-270 ms in a full collection) were the room's worst latencies.
    """
    exc: BaseException | None = request.routing_exception
    while exc is not None:
        exc.__traceback__ = None
        exc = exc.__context__ or exc.__cause__
    request.routing_exception = None


class BatchingRedisManager(RedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, plus one message for several rooms' payloads.

    A room change pushes a personal snapshot to each of its nine or so participants. Emitted one
    by one, that is nine Redis publishes (each a round trip) and nine messages every other
    process must read; :meth:`emit_many` publishes them as one ``emit`` message carrying a
    ``batch``, which each process (this one included) delivers to its own clients.
    """

    def emit_many(self, event: str, items: list[tuple[str, Any]], namespace: str) -> None:
        """Emit ``event`` with each payload to its Socket.IO room, on every process."""
        message = {
            "method": "emit",
            "event": event,
            "namespace": namespace,
            "batch": [[room, data] for room, data in items],
            "host_id": self.host_id,
        }
        self._handle_emit(message)
        self._publish(message)

    def _handle_emit(self, message: dict[str, Any]) -> None:
        batch = message.get("batch")
        if batch is None:
            super()._handle_emit(message)
            return
        for room, data in batch:
            Manager.emit(
                self, message["event"], data, namespace=message.get("namespace"), room=room
            )


@dataclass(frozen=True)
class RoomCollaborators:
    """Everything the room's Socket.IO handlers work with, built by `create_app`."""

    store: RoomStore
    codes: CodeSender
    authenticator: Authenticator
    identity: Identity
    conflicts: ConflictChecker
    replacements: ReplacementProvider
    chat: ChatLog


def init_socketio(app: Flask, config: Config, room: RoomCollaborators) -> SocketIO:
    """Create the SocketIO server (explicit async mode; Redis queue when configured) and the room.

    ``app.extensions["expertpool_serve"]`` then serves HTTP and websockets together, which
    ``expertpool quickstart`` uses.
    """
    cfg = config
    app.teardown_request(_release_routing_exception)
    queue = (
        {"client_manager": BatchingRedisManager(cfg.redis_url, channel=cfg.socketio_channel)}
        if cfg.redis_url
        else {}
    )
    socketio = SocketIO(
        app,
        async_mode=cfg.socketio_async_mode,
        **queue,
        logger=False,
        engineio_logger=False,
        serializer=JsonPacket,
        json=FastJson,
    )
    evaluation_room.init_app(
        app,
        socketio,
        store=room.store,
        codes=room.codes,
        authenticator=room.authenticator,
        identity=room.identity,
        conflicts=room.conflicts,
        replacements=room.replacements,
        chat=room.chat,
        # Text the database cannot hold and numbers out of range are refused before any handler.
        check=edge.value_problems,
        # Without Redis there is nothing to batch: the handlers emit one snapshot after another.
        emit_many=manager.emit_many
        if isinstance(manager := socketio.server.manager, BatchingRedisManager)
        else None,
    )

    def serve(host: str, port: int) -> None:
        if cfg.socketio_async_mode == "threading":
            # socketio.run() would call app.run(), which Flask ignores inside its own CLI; the
            # Socket.IO middleware already wraps app.wsgi_app, so serve it with werkzeug directly
            # (websockets work through simple-websocket).

            run_simple(host, port, app, threaded=True, use_reloader=False)
        else:
            run: Any = socketio.run
            run(app, host=host, port=port, use_reloader=False)

    app.extensions["expertpool_serve"] = serve
    return socketio


def room_handlers(app: Flask) -> RoomHandlers:
    """The app's room handlers (pages run room commands through them, as events do)."""
    handlers: RoomHandlers = app.extensions["evaluation_room"]
    return handlers


def socketio_of(app: Flask) -> SocketIO:
    """The app's SocketIO server."""
    server: SocketIO = app.extensions["socketio"]
    return server
