"""The `expertpool` command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select

from expertpool.core.config import Config, ConfigError
from expertpool.core.keys import KeyFileError
from expertpool.core.state import AppState, state


def _create_app() -> Flask:
    from expertpool.app import create_app

    return create_app(Config.from_env())


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True, add_version_option=False)
def cli() -> None:
    """Guangdong evaluation-expert pool: administration commands."""


def _st() -> AppState:
    return state()


# db ------------------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema."""
    from expertpool.core import migrate

    migrate.upgrade(_st().engine, revision)
    click.echo(f"database at {revision}: {_st().engine.url.render_as_string(hide_password=True)}")


@db.command("check")
@with_appcontext
def db_check() -> None:
    """Fail when the models and the migrations disagree."""
    from expertpool.core import migrate

    migrate.check(_st().engine)
    click.echo("models and migrations agree")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the current revision."""
    from expertpool.core import migrate

    migrate.current(_st().engine)


# reference -----------------------------------------------------------------------------------
@cli.group()
def reference() -> None:
    """Reference data: specialties and regions."""


@reference.command("load")
@click.option("--specialties", "spec_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A newer specialty table of the same shape (default: the bundled one).")
@click.option("--regions", "region_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A regions table of the same shape (default: the bundled one).")
@with_appcontext
def reference_load(spec_file: Path | None, region_file: Path | None) -> None:
    """Import the specialty classification and the regions, reporting every defect."""
    from expertpool.reference import catalogue as ref

    session = _st().sessions()
    for loader, rows in (
        (ref.load_regions, ref.read_table(region_file) if region_file else ref.bundled("regions-guangdong.json")),
        (ref.load_specialties, ref.read_table(spec_file) if spec_file else ref.bundled("specialties.json")),
    ):
        report = loader(session, rows, actor="cli")
        click.echo(f"{report.table}: {report.loaded} loaded ({report.added} added, {report.updated} updated, "
                   f"{report.retired} retired), {len(report.defects)} defects")
        for defect in report.defects:
            click.echo(f"  defect {defect}")


# demo ----------------------------------------------------------------------------------------
@cli.command()
@click.option("--reset", is_flag=True, help="Drop every table and start over.")
@click.option("--experts", type=int, default=3000, show_default=True, help="Synthetic experts to create.")
@click.option("--seed", type=int, default=2016, show_default=True)
@with_appcontext
def demo(reset: bool, experts: int, seed: int) -> None:
    """Load deterministic demo data (safe to run twice) and print the demo logins."""
    from expertpool.core import migrate
    from expertpool.core.db import Base
    from expertpool.demo import runner as demo_service
    from expertpool.reference import catalogue as ref
    from expertpool.reference.models import Specialty

    st = _st()
    if reset:
        st.sessions.remove()
        with st.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if st.config.checkpoint_path.exists():
            st.config.checkpoint_path.unlink()
    migrate.upgrade(st.engine)
    st.keys.init()
    session = st.sessions()
    if not session.execute(select(func.count()).select_from(Specialty)).scalar_one():
        for report in (ref.load_regions(session, ref.bundled("regions-guangdong.json"), actor="demo"),
                       ref.load_specialties(session, ref.bundled("specialties.json"), actor="demo")):
            click.echo(f"{report.table}: {report.loaded} loaded, {len(report.defects)} defects reported")
    for line in demo_service.run(session, seed=seed, options={"experts": experts}):
        click.echo(line)
    click.echo(f"demo logins (password for all: {demo_service.DEMO_PASSWORD}):")
    for login in demo_service.DEMO_LOGINS:
        click.echo(f"  {login.role.value:<13} {login.username}")


# audit ---------------------------------------------------------------------------------------
@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Recompute the hash chain and check it against the signed checkpoints."""
    from expertpool.core import audit as audit_service

    st = _st()
    problems = audit_service.verify(st.sessions(), st.config.checkpoint_path, st.keys.audit_key())
    if problems:
        for p in problems:
            click.echo(f"FAIL {p}")
        sys.exit(1)
    click.echo("OK: audit chain intact and consistent with the signed checkpoints")


@audit.command("checkpoint")
@with_appcontext
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the current chain head."""
    from expertpool.core import audit as audit_service
    from expertpool.core.models import AuditHead

    st = _st()
    head = st.sessions().get(AuditHead, 1)
    if head is None:
        raise click.ClickException("the audit trail is empty")
    audit_service.write_checkpoint(st.config.checkpoint_path, st.keys.audit_key(), head.seq, head.hash)
    click.echo(f"checkpoint at entry {head.seq}")


# users ---------------------------------------------------------------------------------------
@cli.group()
def users() -> None:
    """User accounts and roles."""


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["expert", "reviewer", "centre_staff", "supervisor", "admin"]), required=True)
@click.option("--centre", default=None, help="Region code of the centre (centre staff).")
@click.password_option()
@with_appcontext
def users_create(username: str, display_name: str, role: str, centre: str | None, password: str) -> None:
    """Create a user."""
    from expertpool.accounts import users as user_service
    from expertpool.core.errors import ValidationFailed

    try:
        user_service.create_user(_st().sessions(), actor="cli", username=username, display_name=display_name,
                                 password=password, role=role, centre_code=centre)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"created {username} ({role})")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List users with role and centre."""
    from expertpool.accounts.models import User

    for user in _st().sessions().execute(select(User).order_by(User.username)).scalars():
        centre = user.centre.region_code if user.centre else "-"
        click.echo(f"{user.username:<20} {user.role.value:<13} {centre:<7} {'active' if user.is_active else 'inactive'}")


@users.command("set-role")
@click.argument("username")
@click.option("--role", type=click.Choice(["expert", "reviewer", "centre_staff", "supervisor", "admin"]), required=True)
@click.option("--centre", default=None)
@with_appcontext
def users_set_role(username: str, role: str, centre: str | None) -> None:
    """Change a user's role (and centre)."""
    from expertpool.accounts import users as user_service
    from expertpool.core.errors import ValidationFailed

    session = _st().sessions()
    user = user_service.get_by_username(session, username)
    try:
        user_service.update_user(session, actor="cli", user_id=user.id, display_name=user.display_name, role=role,
                                 centre_code=centre if centre is not None else (user.centre.region_code if user.centre else None),
                                 is_active=user.is_active)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"{username}: {role}")


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username: str) -> None:
    """Disable a user's login."""
    from expertpool.accounts import users as user_service

    session = _st().sessions()
    user = user_service.get_by_username(session, username)
    user_service.update_user(session, actor="cli", user_id=user.id, display_name=user.display_name,
                             role=user.role.value, centre_code=user.centre.region_code if user.centre else None,
                             is_active=False)
    click.echo(f"{username}: deactivated")


@users.command("set-password")
@click.argument("username")
@click.password_option()
@with_appcontext
def users_set_password(username: str, password: str) -> None:
    """Set a new password."""
    from expertpool.accounts import users as user_service
    from expertpool.core.errors import ValidationFailed

    session = _st().sessions()
    user = user_service.get_by_username(session, username)
    try:
        user_service.set_password(session, actor="cli", user_id=user.id, password=password)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"{username}: password changed")


# keys ----------------------------------------------------------------------------------------
@cli.group()
def keys() -> None:
    """Key files kept outside the database."""


@keys.command("init")
@with_appcontext
def keys_init() -> None:
    """Create every missing key file."""
    created = _st().keys.init()
    click.echo("created: " + (", ".join(created) if created else "nothing (all keys exist)"))


@keys.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Start a new personal-data key and re-encrypt every stored value under it."""
    from expertpool.core import pii

    st = _st()
    new_id = st.keys.rotate_pii()
    count = pii.rotate_all(st.sessions(), pii.PiiCipher.from_keys(st.keys), actor="cli")
    click.echo(f"personal-data key {new_id} is current; {count} values re-encrypted")


# maintenance ---------------------------------------------------------------------------------
@cli.command()
@with_appcontext
def maintenance() -> None:
    """Daily upkeep: retire at the age cap, start and end leave, end expired suspensions."""
    from expertpool.experts import availability

    st = _st()
    report = availability.run_maintenance(st.sessions(), config=st.config)
    click.echo(f"retired {report.retired}, leave started {report.leave_started}, leave ended "
               f"{report.leave_ended}, suspensions ended {report.suspensions_ended}")
@keys.command("public")
@with_appcontext
def keys_public() -> None:
    """Print every draw-signing public key (base64 raw Ed25519), the current one marked."""
    store = _st().keys
    current = store.draw_signing_key()[0]
    for key_id, pub in sorted(store.draw_public_keys().items()):
        click.echo(f"{key_id} {pub} {'current' if key_id == current else 'retired'}")


@keys.command("rotate-draw")
@with_appcontext
def keys_rotate_draw() -> None:
    """Start a new draw-signing key; old public keys stay published so old transcripts verify."""
    new_id = _st().keys.rotate_draw()
    click.echo(f"new draw-signing key: {new_id}")
# notifications -------------------------------------------------------------------------------
@cli.command("notify-worker")
@click.option("--interval", type=float, default=1.0, show_default=True, help="Seconds to wait when idle.")
@click.option("--batch", type=int, default=20, show_default=True, help="Messages claimed per pass.")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@with_appcontext
def notify_worker(interval: float, batch: int, once: bool) -> None:
    """Send queued SMS and calls until stopped (SIGINT/SIGTERM finish the current pass first).

    Any number of workers may run at once: each message is claimed by exactly one.
    """
    import signal
    import threading

    from expertpool.notifications import dispatcher as notifications
    from expertpool.notifications.invitations import NotifyContext
    from expertpool.notifications.notifier import NOTIFIER, worker_id

    st = _st()
    notifier = st.services[NOTIFIER]
    ctx = NotifyContext(st.config, st.keys)
    name = worker_id("cli")
    if once:
        report = notifications.dispatch_once(st.sessions, notifier, None, name, batch, ctx=ctx)
        click.echo(f"claimed {report.claimed}, sent {report.sent}, reconciled {report.reconciled}, "
                   f"retried {report.retried}, unknown {report.unknown}, failed {report.failed}, "
                   f"expired {report.expired}")
        return
    stop = threading.Event()

    def _stop(signum: int, _frame: object) -> None:
        click.echo(f"{name}: stopping after the current pass")
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"{name}: sending through {notifier.provider} (Ctrl-C to stop)")
    notifications.run_worker(st.sessions, notifier, stop=stop, ctx=ctx, worker_id=name,
                             interval_seconds=interval, batch=batch)
    click.echo(f"{name}: stopped")


# draws ---------------------------------------------------------------------------------------
@cli.group()
def draws() -> None:
    """Draws: list, export a transcript after opening, verify the draw ledger."""


@draws.command("list")
@with_appcontext
def draws_list() -> None:
    """One line per draw: draw id, status, project code, request, prepared at (UTC)."""
    from expertpool.draws import protocol as draw_service

    for d in draw_service.list_draws(_st().sessions()):
        click.echo(f"{d.draw_id} {d.status.value} {d.request.project.code} request={d.request_id} "
                   f"prepared={d.prepared_at:%Y-%m-%dT%H:%M:%SZ}")


@draws.command("export")
@click.argument("draw_id")
@with_appcontext
def draws_export(draw_id: str) -> None:
    """Write the draw-v1 transcript of an opened draw to stdout (canonical JSON, no newline)."""
    import draw as engine
    from expertpool.core.errors import AppError
    from expertpool.draws import protocol as draw_service

    try:
        doc = draw_service.transcript(_st().sessions(), draw_id=draw_id, actor="cli", keys=_st().keys)
    except AppError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    sys.stdout.buffer.write(engine.canonical_json(doc))
    sys.stdout.flush()


@draws.command("verify-ledger")
@with_appcontext
def draws_verify_ledger() -> None:
    """Recompute the hash chain of the draw ledger; exit 1 with one line per problem."""
    from expertpool.draws import ledger as draw_ledger

    problems = draw_ledger.verify_ledger(_st().sessions())
    for p in problems:
        click.echo(f"{p.seq if p.seq is not None else '-'}: {p.message}")
    if problems:
        sys.exit(1)
    click.echo("draw ledger intact")


# serve ---------------------------------------------------------------------------------------
@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--experts", type=int, default=3000, show_default=True)
@with_appcontext
def quickstart(host: str, port: int, experts: int) -> None:
    """Migrate, load reference and demo data, then serve on HOST:PORT (the embedded default)."""
    from flask import current_app


    st = _st()
    ctx = click.get_current_context()
    ctx.invoke(demo, reset=False, experts=experts, seed=2016)
    st.sessions.remove()  # release the SQLite write lock before serving
    click.echo(f"\nexpertpool is running: open http://{host}:{port}/  (Ctrl-C to stop)\n")
    serve_app(current_app._get_current_object(), host, port)  # type: ignore[attr-defined]


def serve_app(app: Any, host: str, port: int) -> None:
    """Serve the app (Socket.IO aware when the room is installed)."""
    runner = app.extensions.get("expertpool_serve")
    if runner is not None:
        runner(host, port)
    else:
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False)


def main() -> None:
    """Entry point: settings and key-file problems are one line, not a traceback."""
    from expertpool.core.errors import AppError

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
