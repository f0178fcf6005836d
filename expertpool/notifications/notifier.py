"""The notification feature's collaborators: the notifier the settings choose, the embedded
dispatcher thread, and the typed bundle `create_app` hands to the feature's pages."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app

import notify
from expertpool.core.config import Config
from expertpool.core.leader import AdvisoryLeader
from expertpool.notifications.context import NotifyContext
from expertpool.notifications.dispatcher import run_worker
from notify import aliyun_fake, twilio_fake

log = logging.getLogger(__name__)

EXTENSION = "expertpool.notifications"


def build_notifier(config: Config) -> notify.Notifier:
    """`console` (the embedded default: records, shows on /admin/outbox), `twilio` or `aliyun`.

    With `notifier_fake` (the demo), the chosen provider's real adapter talks to its loopback
    fake started here, in this process: nothing leaves the machine.
    """
    if config.notifier_fake and config.notifier == "aliyun":
        return aliyun_fake.aliyun_notifier_for(aliyun_fake.FakeAliyunApi().start())
    if config.notifier_fake and config.notifier == "twilio":
        return twilio_fake.twilio_notifier_for(twilio_fake.FakeTwilioApi().start())
    if config.notifier == "aliyun":
        return notify.AliyunNotifier(
            access_key_id=config.aliyun_access_key_id,
            access_key_secret=config.aliyun_access_key_secret,
            sign_name=config.aliyun_sign_name,
            sms_templates=notify.parse_templates(config.aliyun_sms_templates),
            voice_templates=notify.parse_templates(config.aliyun_voice_templates),
            called_show_number=config.aliyun_called_show_number,
            sms_endpoint=config.aliyun_sms_endpoint or None,
            voice_endpoint=config.aliyun_voice_endpoint or None,
            timeout_seconds=float(config.twilio_timeout_seconds),
            link_allowed=config.aliyun_sms_link_allowed,
        )
    if config.notifier == "twilio":
        return notify.TwilioNotifier(
            account_sid=config.twilio_account_sid,
            auth_token=config.twilio_auth_token,
            from_number=config.twilio_from_number,
            timeout_seconds=float(config.twilio_timeout_seconds),
            api_base_url=config.twilio_api_base_url or None,
        )
    return notify.ConsoleNotifier(own_number=config.twilio_from_number or "+10000000000")


def worker_id(prefix: str = "worker") -> str:
    """A name unique to this process and call, for `locked_by`."""
    return f"{prefix}:{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class InProcessWorker:
    """The dispatcher as a daemon thread of the web process (the embedded default).

    With several web processes on PostgreSQL only the one holding the ``notify-dispatcher``
    advisory lock dispatches; the others wait and take over when it dies (claims are exclusive
    anyway, so a short overlap would send nothing twice).
    """

    def __init__(
        self,
        app: Flask,
        notifier: notify.Notifier,
        ctx: NotifyContext,
        interval_seconds: float = 1.0,
        also: Callable[[datetime], int] | None = None,
    ) -> None:
        self.app = app
        self.also = also
        self.notifier = notifier
        self.ctx = ctx
        self.interval_seconds = interval_seconds
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread once."""
        with self._lock:
            if self.thread is not None:
                return
            self.thread = threading.Thread(target=self._run, name="notify-worker", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        st = self.app.extensions["expertpool"]
        leader = AdvisoryLeader(st.engine, "notify-dispatcher")
        with self.app.app_context():
            try:
                if not leader.wait_until_leader(self.stop_event):
                    return
                run_worker(
                    st.sessions,
                    self.notifier,
                    stop=self.stop_event,
                    ctx=self.ctx,
                    worker_id=worker_id("embedded"),
                    interval_seconds=self.interval_seconds,
                    also=self.also,
                )
            finally:
                leader.release()
                st.sessions.remove()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)


@dataclass
class NotificationServices:
    """What the notification feature works with, built once by `create_app`."""

    ctx: NotifyContext
    notifier: notify.Notifier
    worker: InProcessWorker | None = None


def install(app: Flask, services: NotificationServices) -> None:
    """Hand the feature its collaborators; start the embedded worker with the first request."""
    app.extensions[EXTENSION] = services
    worker = services.worker
    if worker is None:
        return

    # Started lazily so that CLI commands (migrations, a separate notify-worker) never run it.
    @app.before_request
    def _start_worker() -> Any:
        worker.start()
        return None


def services_of(app: Flask) -> NotificationServices:
    """The notification collaborators of `app`."""
    found: NotificationServices = app.extensions[EXTENSION]
    return found


def notification_services() -> NotificationServices:
    """The notification collaborators of the current application (for pages and commands)."""
    return services_of(current_app)
