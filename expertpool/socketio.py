"""The Socket.IO server of the app and the evaluation room registered on it."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_socketio import SocketIO

import evaluation_room
from expertpool.services.room_conflicts import ProjectConflictChecker
from expertpool.services.room_store import SqlChatLog, SqlRoomStore
from expertpool.services.rooms import (
    PasswordAuthenticator,
    RegisteredConflicts,
    RegisteredReplacements,
    SessionIdentity,
    SmsCodeSender,
    expert_phone_for_user,
)


def init_socketio(app: Flask) -> SocketIO:
    """Create the SocketIO server (explicit async mode; Redis queue when configured) and the room.

    ``app.extensions["expertpool_serve"]`` then serves HTTP and websockets together, which
    ``expertpool quickstart`` uses.
    """
    st = app.extensions["expertpool"]
    cfg = st.config
    # Check-in codes go to the mobile on the expert's record; the panel's number is the fallback.
    st.services.setdefault("phone_for_user", expert_phone_for_user)
    # The conflict check runs again at check-in against current records.
    st.services.setdefault("room_conflicts", ProjectConflictChecker())
    socketio = SocketIO(
        app,
        async_mode=cfg.socketio_async_mode,
        message_queue=cfg.redis_url or None,
        channel=cfg.socketio_channel,
        logger=False,
        engineio_logger=False,
    )
    evaluation_room.init_app(
        app,
        socketio,
        store=SqlRoomStore(st.sessions, None if cfg.is_sqlite else st.engine),
        codes=SmsCodeSender(),
        authenticator=PasswordAuthenticator(),
        identity=SessionIdentity(),
        conflicts=RegisteredConflicts(),
        replacements=RegisteredReplacements(),
        chat=SqlChatLog(st.sessions),
    )

    def serve(host: str, port: int) -> None:
        if cfg.socketio_async_mode == "threading":
            # socketio.run() would call app.run(), which Flask ignores inside its own CLI; the
            # Socket.IO middleware already wraps app.wsgi_app, so serve it with werkzeug directly
            # (websockets work through simple-websocket).
            from werkzeug.serving import run_simple

            run_simple(host, port, app, threaded=True, use_reloader=False)
        else:
            run: Any = socketio.run
            run(app, host=host, port=port, use_reloader=False)

    app.extensions["expertpool_serve"] = serve
    return socketio


def socketio_of(app: Flask) -> SocketIO:
    """The app's SocketIO server."""
    server: SocketIO = app.extensions["socketio"]
    return server
