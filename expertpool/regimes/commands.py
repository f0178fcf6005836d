"""Commands for the rule table: load the bundled rules, show the versions."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.regimes import rulebook


@click.group()
def rules() -> None:
    """Rules by legal regime and procurement method (docs/rules.md)."""


@rules.command("load")
@with_appcontext
def rules_load() -> None:
    """Store the bundled rules as version 1 when missing (the migration does it too)."""
    count = rulebook.load_rules(state().sessions(), actor="cli")
    click.echo(f"rule versions stored: {count}")


@rules.command("versions")
@with_appcontext
def rules_versions() -> None:
    """List the stored versions and which one is in force now."""
    session = state().sessions()
    in_force = rulebook.version_in_force(session)
    for v in rulebook.versions(session):
        mark = "  (in force)" if v.number == in_force else ""
        click.echo(f"{v.number}\t{v.effective_on.isoformat()}\t{v.origin}\t{v.note}{mark}")
