"""The WSGI entry for gunicorn: ``gunicorn -k gevent -w 1 -b 127.0.0.1:8001 expertpool.wsgi:app``.

Run one worker per process (Socket.IO keeps each connection in the process that accepted it)
and several processes sharing PostgreSQL and Redis (``REDIS_URL``, ``EXPERTPOOL_SOCKETIO_ASYNC_MODE=
gevent``); see docs/deploy.md. The embedded outbox dispatcher starts here, with the process,
rather than with its first HTTP request; on PostgreSQL only one process of the site runs it.
"""

from __future__ import annotations

from expertpool.app import create_app
from expertpool.db import cooperate_with_gevent
from expertpool.services.notifier_factory import WORKER

cooperate_with_gevent()
app = create_app()
_worker = app.extensions["expertpool"].services.get(WORKER)
if _worker is not None:
    _worker.start()
