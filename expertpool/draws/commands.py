"""Commands of draws: listing, export, ledger check, draw-signing keys."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

import draw as engine
from expertpool.accounts import users
from expertpool.core import audit
from expertpool.core.errors import AppError
from expertpool.core.state import state
from expertpool.draws import ledger as draw_ledger
from expertpool.draws import protocol as draw_service


@click.group()
def draws() -> None:
    """Draws: list, export a transcript after opening, verify the draw ledger."""


@draws.command("list")
@with_appcontext
def draws_list() -> None:
    """One line per draw: draw id, status, project code, request, prepared at (UTC)."""

    for d in draw_service.list_draws(state().sessions()):
        click.echo(
            f"{d.draw_id} {d.status.value} {d.request.project.code} request={d.request_id} "
            f"prepared={d.prepared_at:%Y-%m-%dT%H:%M:%SZ}"
        )


@draws.command("export")
@click.argument("draw_id")
@with_appcontext
def draws_export(draw_id: str) -> None:
    """Write the draw-v1 transcript of an opened draw to stdout (canonical JSON, no newline)."""

    try:
        doc = draw_service.transcript(
            state().sessions(), draw_id=draw_id, actor="cli", keys=state().keys
        )
    except AppError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    sys.stdout.buffer.write(engine.canonical_json(doc))
    sys.stdout.flush()


@draws.command("verify-ledger")
@with_appcontext
def draws_verify_ledger() -> None:
    """Recompute the hash chain of the draw ledger; exit 1 with one line per problem."""

    problems = draw_ledger.verify_ledger(state().sessions())
    for p in problems:
        click.echo(f"{p.seq if p.seq is not None else '-'}: {p.message}")
    if problems:
        sys.exit(1)
    click.echo("draw ledger intact")


@click.command("public")
@with_appcontext
def keys_public() -> None:
    """Print every draw-signing public key (base64 raw Ed25519), the current one marked."""
    store = state().keys
    current = store.draw_signing_key()[0]
    for key_id, pub in sorted(store.draw_public_keys().items()):
        click.echo(f"{key_id} {pub} {'current' if key_id == current else 'retired'}")


@click.command("rotate-draw")
@click.option("--by", "by", required=True, help="The security administrator's username.")
@with_appcontext
def keys_rotate_draw(by: str) -> None:
    """Start a new draw-signing key; old public keys stay published so old transcripts verify."""
    st = state()
    session = st.sessions()
    keeper = users.key_keeper(session, by, single_admin=st.config.single_admin)
    new_id = st.keys.rotate_draw()
    audit.record(
        session,
        actor=keeper.username,
        action="keys.rotate_draw",
        object_type="key",
        object_id=new_id,
    )
    session.commit()
    click.echo(f"new draw-signing key: {new_id}")
