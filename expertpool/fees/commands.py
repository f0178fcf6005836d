"""Commands for fees: make the statements of closed sessions."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.fees import statements


@click.group()
def fees() -> None:
    """Fee statements and payments (docs/fees.md)."""


@fees.command("statements")
@with_appcontext
def fees_statements() -> None:
    """Make the statement of every closed session that has none (safe to run again)."""
    st = state()
    made = statements.make_due_statements(st.sessions(), st.keys, actor="cli")
    click.echo(f"statements made: {made}")
