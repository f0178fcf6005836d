"""Remote cross-city evaluation room: a pure room model, scoring and thin Socket.IO handlers.

Modules: ``room`` (the :class:`~evaluation_room.room.EvaluationRoom` state machine), ``state``
(the room's state record and read-only queries over it), ``views`` (what each viewer may see),
``model`` (phases, roles, settings, events), ``scoring`` (forms, formula plug-ins, aggregates,
ranking, deviation flags), ``election``, ``checkin`` (one-time codes), ``report`` (report
assembly, data and digest), ``ports`` (protocols the app implements), ``commands``
(load/apply/save with optimistic locking), ``adapters`` (system clock, in-memory store),
``errors``.
Nothing here imports Flask, SQLAlchemy or the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluation_room.handlers import ChatLog, Identity, PayloadCheck, RoomHandlers
    from evaluation_room.ports import (
        Authenticator,
        Clock,
        CodeSender,
        ConflictChecker,
        ReplacementProvider,
        RoomStore,
    )


def init_app(
    app: Any,
    socketio: Any,
    *,
    store: RoomStore,
    codes: CodeSender,
    authenticator: Authenticator,
    identity: Identity,
    conflicts: ConflictChecker,
    replacements: ReplacementProvider,
    clock: Clock | None = None,
    chat: ChatLog | None = None,
    emit_many: Callable[[str, list[tuple[str, Any]], str], None] | None = None,
    check: PayloadCheck | None = None,
) -> RoomHandlers:
    """Register the room's Socket.IO events on ``socketio`` (namespace ``/room``) for ``app``.

    Flask and Flask-SocketIO are imported here, not at package import, so the model stays pure.
    ``check`` is the app's edge check every event payload passes first (see
    :func:`~evaluation_room.handlers.safely`).
    """
    from flask_socketio import join_room

    from evaluation_room.adapters import SystemClock
    from evaluation_room.handlers import (
        EVENTS,
        NAMESPACE,
        RoomHandlers,
        safely,
    )

    handlers = RoomHandlers(
        store=store,
        codes=codes,
        authenticator=authenticator,
        identity=identity,
        clock=clock or SystemClock(),
        conflicts=conflicts,
        replacements=replacements,
        emitter=socketio,
        chat=chat,
        join_room=lambda name: join_room(name, namespace=NAMESPACE),
        emit_many=emit_many,
    )
    socketio.on_event("connect", handlers.connect, namespace=NAMESPACE)
    for event, method in EVENTS.items():
        handler = safely(
            getattr(handlers, method),
            propagate=bool(app.config.get("TESTING")),
            **({"check": check} if check is not None else {}),
        )
        socketio.on_event(event, handler, namespace=NAMESPACE)
    app.extensions["evaluation_room"] = handlers
    return handlers
