"""Commands of the expert pool: the daily maintenance."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.experts import availability


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
