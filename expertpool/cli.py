"""The `expertpool` command."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from expertpool.accounts import commands as account_commands
from expertpool.accounts import users
from expertpool.app import create_app
from expertpool.core import commands as core_commands
from expertpool.core import pii
from expertpool.core.config import Config, ConfigError
from expertpool.core.errors import AppError
from expertpool.core.keys import KeyFileError
from expertpool.core.pii import EncryptedTable
from expertpool.core.state import state
from expertpool.demo import commands as demo_commands
from expertpool.departments import commands as department_commands
from expertpool.draws import commands as draw_commands
from expertpool.events import models as events_models
from expertpool.experts import commands as expert_commands
from expertpool.experts import models as experts_models
from expertpool.fees import commands as fee_commands
from expertpool.fees import models as fees_models
from expertpool.notifications import commands as notification_commands
from expertpool.notifications import models as notifications_models
from expertpool.organisations import models as organisations_models
from expertpool.projects import models as projects_models
from expertpool.recommendations import models as recommendations_models
from expertpool.reference import commands as reference_commands
from expertpool.regimes import commands as rule_commands
from expertpool.reports import commands as report_commands
from expertpool.rooms import models as rooms_models
from expertpool.upkeep import commands as upkeep_commands
from expertpool.upkeep.scheduler import upkeep_of


def _create_app() -> Flask:
    return create_app(Config.from_env())


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False
)
def cli() -> None:
    """Guangdong evaluation-expert pool: administration commands."""


PII_TABLES: tuple[EncryptedTable, ...] = (
    *experts_models.PII_TABLES,
    *notifications_models.PII_TABLES,
    *rooms_models.PII_TABLES,
    *organisations_models.PII_TABLES,
    *projects_models.PII_TABLES,
    *fees_models.PII_TABLES,
    *recommendations_models.PII_TABLES,
    *events_models.PII_TABLES,
)
"""Every feature's encrypted personal data, re-encrypted by `keys rotate`."""


@click.command("rotate")
@click.option("--by", "by", required=True, help="The security administrator's username.")
@with_appcontext
def keys_rotate(by: str) -> None:
    """Start a new personal-data key and re-encrypt every stored value and file under it."""
    st = state()
    keeper = users.key_keeper(st.sessions(), by, single_admin=st.config.single_admin)
    new_id = st.keys.rotate_pii()
    count = pii.rotate_all(
        st.sessions(), pii.PiiCipher.from_keys(st.keys), PII_TABLES, actor=keeper.username
    )
    files = st.files.rotate()
    click.echo(
        f"personal-data key {new_id} is current; {count} values and {files} files re-encrypted"
    )


for command in (
    core_commands.db,
    core_commands.audit,
    core_commands.keys,
    reference_commands.reference,
    rule_commands.rules,
    demo_commands.demo,
    account_commands.users,
    upkeep_commands.maintenance,
    expert_commands.experts,
    notification_commands.notify_worker,
    draw_commands.draws,
    department_commands.departments,
    report_commands.reports,
    fee_commands.fees,
):
    cli.add_command(command)
for command in (
    keys_rotate,
    draw_commands.keys_public,
    draw_commands.keys_rotate_draw,
    report_commands.keys_rotate_report,
    report_commands.keys_install_report_cert,
):
    core_commands.keys.add_command(command)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--experts", type=int, default=3000, show_default=True)
def quickstart(host: str, port: int, experts: int) -> None:
    """Migrate, load reference and demo data, then serve on HOST:PORT (the embedded default).

    Links the app sends (answer links in SMS, webhooks) point at HOST:PORT unless
    EXPERTPOOL_PUBLIC_BASE_URL says otherwise."""
    app = create_app(quickstart_config(Config.from_env(), host, port))
    with app.app_context():
        st = state()
        ctx = click.get_current_context()
        ctx.invoke(demo_commands.demo, reset=False, experts=experts, seed=2016)
        st.sessions.remove()  # release the SQLite write lock before serving
        upkeep = upkeep_of(app)
        if upkeep is not None:
            upkeep.start()  # today's upkeep runs now, then once per day by itself
    click.echo(
        f"\nexpertpool is running: open {app.extensions['expertpool'].config.public_base_url}/"
    )
    click.echo("  (Ctrl-C to stop; the demo logins are listed above)")
    click.echo(f"JSON API: http://{host}:{port}/api/v1/docs (see docs/integration.md)\n")
    serve_app(app, host, port)


def quickstart_config(config: Config, host: str, port: int) -> Config:
    """The settings quickstart serves with: the public base URL follows `--host`/`--port`
    unless EXPERTPOOL_PUBLIC_BASE_URL is set (a wildcard host is reached on the loopback)."""
    if "EXPERTPOOL_PUBLIC_BASE_URL" in os.environ:
        return config
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return dataclasses.replace(config, public_base_url=f"http://{shown}:{port}")


def serve_app(app: Any, host: str, port: int) -> None:
    """Serve the app (Socket.IO aware when the room is installed)."""
    runner = app.extensions.get("expertpool_serve")
    if runner is not None:
        runner(host, port)
    else:
        run_simple(host, port, app, threaded=True, use_reloader=False)


def main() -> None:
    """Entry point: settings and key-file problems are one line, not a traceback."""

    try:
        cli.main(prog_name="expertpool")
    except (ConfigError, KeyFileError) as exc:
        click.echo(f"expertpool: {exc}", err=True)
        sys.exit(2)
    except AppError as exc:  # e.g. an unknown username: the message, not a traceback
        fields = "".join(f"; {k}: {v}" for k, v in exc.fields.items())
        click.echo(f"expertpool: {exc.message}{fields}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
