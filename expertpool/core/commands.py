"""Commands of the core: the database schema, the audit trail and the key files."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from expertpool.core import audit as audit_service
from expertpool.core import migrate
from expertpool.core.models import AuditHead
from expertpool.core.state import state


@click.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema."""

    migrate.upgrade(state().engine, revision, keys=state().keys)
    click.echo(f"database at {revision}: {state().engine.url.render_as_string(hide_password=True)}")


@db.command("check")
@with_appcontext
def db_check() -> None:
    """Fail when the models and the migrations disagree."""

    migrate.check(state().engine)
    click.echo("models and migrations agree")


@db.command("current")
@with_appcontext
def db_current() -> None:
    """Show the current revision."""

    migrate.current(state().engine)


@click.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Recompute the hash chain and check it against the signed checkpoints."""

    st = state()
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

    st = state()
    head = st.sessions().get(AuditHead, 1)
    if head is None:
        raise click.ClickException("the audit trail is empty")
    audit_service.write_checkpoint(
        st.config.checkpoint_path, st.keys.audit_key(), head.seq, head.hash
    )
    click.echo(f"checkpoint at entry {head.seq}")


@click.group()
def keys() -> None:
    """Key files kept outside the database."""


@keys.command("init")
@with_appcontext
def keys_init() -> None:
    """Create every missing key file."""
    created = state().keys.init()
    click.echo("created: " + (", ".join(created) if created else "nothing (all keys exist)"))
