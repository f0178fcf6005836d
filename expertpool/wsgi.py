"""The WSGI entry for gunicorn: ``gunicorn -k gevent -w 1 -b 127.0.0.1:8001 expertpool.wsgi:app``.

Run one worker per process (Socket.IO keeps each connection in the process that accepted it)
and several processes sharing PostgreSQL and Redis (``REDIS_URL``, ``EXPERTPOOL_SOCKETIO_ASYNC_MODE=
gevent``); see docs/deploy.md. The embedded outbox dispatcher starts here, with the process,
rather than with its first HTTP request; on PostgreSQL only one process of the site runs it.
"""

from __future__ import annotations

import gc

from expertpool.app import create_app
from expertpool.core.db import cooperate_with_gevent
from expertpool.draws import compute
from expertpool.notifications.notifier import services_of

GC_THRESHOLDS = (50_000, 20, 10)

cooperate_with_gevent()
app = create_app()
# The collector: objects made at start-up live as long as the process, so they are moved out of
# its sight, and the youngest generation is collected every 50,000 allocations instead of 700,
# which lets a request's short-lived objects die by reference counting before they could be
# promoted. With a thousand websockets in one process, promoted survivors had triggered a full
# collection every few seconds, each stopping every greenlet for 100-300 ms (docs/benchmarks.md).
gc.freeze()
gc.set_threshold(*GC_THRESHOLDS)
# The draw worker processes (EXPERTPOOL_DRAW_WORKER_PROCESSES) start now, not at the first draw.
_cpu_pool = app.extensions["expertpool"].cpu_pool
if _cpu_pool is not None:
    _cpu_pool.submit(compute.warm)
_worker = services_of(app).worker
if _worker is not None:
    _worker.start()
