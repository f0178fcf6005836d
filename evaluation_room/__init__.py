"""Remote cross-city evaluation room: a pure room model, scoring and thin Socket.IO handlers.

Modules: ``room`` (the :class:`~evaluation_room.room.EvaluationRoom` state machine), ``model``
(phases, roles, settings, events), ``scoring`` (forms, formula plug-ins, aggregates, ranking,
deviation flags), ``election``, ``checkin`` (one-time codes), ``report`` (report data and
digest), ``ports`` (protocols the app implements), ``commands`` (load/apply/save with
optimistic locking), ``adapters`` (system clock, in-memory store), ``errors``.
Nothing here imports Flask, SQLAlchemy or the app.
"""
