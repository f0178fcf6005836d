"""Commands for user accounts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from expertpool.accounts import users as user_service
from expertpool.accounts.models import User, UserRole
from expertpool.core.errors import ValidationFailed
from expertpool.core.state import state


@click.group()
def users() -> None:
    """User accounts and roles."""


@users.command("create")
@click.argument("username")
@click.option("--name", "display_name", required=True)
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    required=True,
)
@click.option("--centre", default=None, help="Region code of the centre (centre staff).")
@click.password_option()
@with_appcontext
def users_create(
    username: str, display_name: str, role: str, centre: str | None, password: str
) -> None:
    """Create a user."""

    try:
        user_service.create_user(
            state().sessions(),
            actor="cli",
            username=username,
            display_name=display_name,
            password=password,
            role=role,
            centre_code=centre,
        )
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"created {username} ({role})")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List users with role and centre."""

    for user in state().sessions().execute(select(User).order_by(User.username)).scalars():
        centre = user.centre.region_code if user.centre else "-"
        click.echo(
            f"{user.username:<20} {user.role.value:<15} {centre:<7} "
            f"{'active' if user.is_active else 'inactive'}"
        )


@users.command("set-role")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in UserRole]),
    required=True,
)
@click.option("--centre", default=None)
@with_appcontext
def users_set_role(username: str, role: str, centre: str | None) -> None:
    """Change a user's role (and centre)."""

    session = state().sessions()
    user = user_service.get_by_username(session, username)
    try:
        user_service.update_user(
            session,
            actor="cli",
            user_id=user.id,
            display_name=user.display_name,
            role=role,
            centre_code=centre
            if centre is not None
            else (user.centre.region_code if user.centre else None),
            is_active=user.is_active,
        )
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"{username}: {role}")


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username: str) -> None:
    """Disable a user's login."""

    session = state().sessions()
    user = user_service.get_by_username(session, username)
    user_service.update_user(
        session,
        actor="cli",
        user_id=user.id,
        display_name=user.display_name,
        role=user.role.value,
        centre_code=user.centre.region_code if user.centre else None,
        is_active=False,
    )
    click.echo(f"{username}: deactivated")


@users.command("set-password")
@click.argument("username")
@click.password_option()
@with_appcontext
def users_set_password(username: str, password: str) -> None:
    """Set a new password."""

    session = state().sessions()
    user = user_service.get_by_username(session, username)
    try:
        user_service.set_password(session, actor="cli", user_id=user.id, password=password)
    except ValidationFailed as exc:
        raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.fields.items())) from None
    click.echo(f"{username}: password changed")
