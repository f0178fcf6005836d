"""Commands for departments."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.departments import members
from expertpool.departments.catalogue import city_regions
from expertpool.departments.coverage import bundled


@click.group()
def departments() -> None:
    """Supervising departments and their members."""


@departments.command("load")
@with_appcontext
def departments_load() -> None:
    """Add the bundled provincial and city departments (after `reference load`)."""
    session = state().sessions()
    added = members.load_departments(session, bundled(), city_regions(session), actor="cli")
    click.echo(f"{added} departments added")


@departments.command("assign")
@click.argument("username")
@click.argument("department_code")
@with_appcontext
def departments_assign(username: str, department_code: str) -> None:
    """Place a reviewer or supervisor in a department (by its code, e.g. 440100-housing)."""
    session = state().sessions()
    dept = members.by_code(session, department_code)
    members.assign(session, actor="cli", username=username, department_id=dept.id)
    click.echo(f"{username} is in {dept.code}")
