"""The outbox worker command."""

from __future__ import annotations

import signal
import threading

import click
from flask.cli import with_appcontext

from expertpool.core.db import utcnow
from expertpool.core.state import state
from expertpool.events import events
from expertpool.notifications import dispatcher as notifications
from expertpool.notifications.notifier import notification_services, worker_id


@click.command("notify-worker")
@click.option(
    "--interval", type=float, default=1.0, show_default=True, help="Seconds to wait when idle."
)
@click.option("--batch", type=int, default=20, show_default=True, help="Messages claimed per pass.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@with_appcontext
def notify_worker(interval: float, batch: int, once: bool) -> None:
    """Send queued SMS and calls until stopped (SIGINT/SIGTERM finish the current pass first).

    Any number of workers may run at once: each message is claimed by exactly one.
    """

    st = state()
    services = notification_services()
    notifier, ctx = services.notifier, services.ctx
    name = worker_id("cli")
    if once:
        report = notifications.dispatch_once(st.sessions, notifier, None, name, batch, ctx=ctx)
        delivered = events.delivery_pass(
            st.sessions.session_factory, lambda: ctx.cipher, worker_id=name
        )
        click.echo(f"events claimed {delivered(utcnow())}")
        click.echo(
            f"claimed {report.claimed}, sent {report.sent}, reconciled {report.reconciled}, "
            f"retried {report.retried}, unknown {report.unknown}, failed {report.failed}, "
            f"expired {report.expired}"
        )
        return
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        click.echo(f"{name}: stopping after the current pass")
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"{name}: sending through {notifier.provider} (Ctrl-C to stop)")
    notifications.run_worker(
        st.sessions,
        notifier,
        stop=stop,
        ctx=ctx,
        worker_id=name,
        interval_seconds=interval,
        batch=batch,
        also=events.delivery_pass(st.sessions.session_factory, lambda: ctx.cipher, worker_id=name),
    )
    click.echo(f"{name}: stopped")
