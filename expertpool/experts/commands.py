"""Commands of the expert pool: the experts' accounts (the daily upkeep is in upkeep/)."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.experts import accounts


@click.group()
def experts() -> None:
    """The experts of the pool."""


@experts.command("accounts")
@click.option("--by", "actor", default="system", show_default=True, help="Named in the audit.")
@with_appcontext
def create_accounts(actor: str) -> None:
    """Give every expert without a login account one, without a password (activated by SMS)."""
    started = time.perf_counter()
    count = accounts.create_missing_accounts(state().sessions(), actor=actor)
    click.echo(f"{count} expert accounts created in {time.perf_counter() - started:.2f} s")
