"""Commands of the expert pool: the daily maintenance and the experts' accounts."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.experts import accounts, availability


@click.command()
@with_appcontext
def maintenance() -> None:
    """Daily upkeep: retire at the age cap, start and end leave, end expired suspensions."""

    st = state()
    report = availability.run_maintenance(st.sessions(), config=st.config)
    click.echo(
        f"retired {report.retired}, leave started {report.leave_started}, leave ended "
        f"{report.leave_ended}, suspensions ended {report.suspensions_ended}"
    )


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
