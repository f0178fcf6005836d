"""`expertpool maintenance`: the day's upkeep by hand (the web process also runs it by itself)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext

from expertpool.core.calendar import cst_date
from expertpool.core.state import state
from expertpool.experts import terms
from expertpool.notifications.notifier import notification_services
from expertpool.upkeep import daily


@click.command()
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The day to run (China Standard Time); default today.",
)
@with_appcontext
def maintenance(day: date | None) -> None:
    """Daily upkeep, once per day: age cap, leave, suspensions and terms ending, reminders."""

    st = state()
    today = day.date() if day is not None else cst_date(st.clock())  # type: ignore[attr-defined]
    report = daily.run_daily(
        st.sessions(),
        config=st.config,
        rules=terms.rules_for(st.config),
        today=today,
        ctx=notification_services().ctx,
        actor="maintenance",
    )
    if report is None:
        click.echo(f"the upkeep of {today.isoformat()} has already run")
        return
    click.echo(
        f"{today.isoformat()}: retired {report.retired}, leave started {report.leave_started}, "
        f"leave ended {report.leave_ended}, suspensions ended {report.suspensions_ended}, "
        f"terms expired {report.terms_expired}, term reminders {report.term_reminders}"
    )
