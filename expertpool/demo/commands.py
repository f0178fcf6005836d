"""The demo command."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from expertpool.core import migrate
from expertpool.core.db import Base
from expertpool.core.state import state
from expertpool.demo import runner as demo_service
from expertpool.demo.context import DemoContext
from expertpool.notifications.notifier import notification_services
from expertpool.reference import catalogue as ref
from expertpool.reference.models import Specialty


@click.command()
@click.option("--reset", is_flag=True, help="Drop every table and start over.")
@click.option(
    "--experts", type=int, default=3000, show_default=True, help="Synthetic experts to create."
)
@click.option("--seed", type=int, default=2016, show_default=True)
@with_appcontext
def demo(reset: bool, experts: int, seed: int) -> None:
    """Load deterministic demo data (safe to run twice) and print the demo logins."""

    st = state()
    if reset:
        st.sessions.remove()
        with st.engine.begin() as conn:
            Base.metadata.drop_all(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if st.config.checkpoint_path.exists():
            st.config.checkpoint_path.unlink()
    st.keys.init()
    migrate.upgrade(st.engine, keys=st.keys)
    session = st.sessions()
    if not session.execute(select(func.count()).select_from(Specialty)).scalar_one():
        for report in (
            ref.load_regions(session, ref.bundled("regions-guangdong.json"), actor="demo"),
            ref.load_specialties(session, ref.bundled("specialties.json"), actor="demo"),
        ):
            click.echo(
                f"{report.table}: {report.loaded} loaded, {len(report.defects)} defects reported"
                + (" (rows left out or flagged):" if report.defects else "")
            )
            for defect in report.defects:
                click.echo(f"  - {defect}")
    ctx = DemoContext(
        config=st.config,
        keys=st.keys,
        notify=notification_services().ctx,
        sessions=st.sessions,
    )
    lines: list[str] = []
    with click.progressbar(
        demo_service.STEPS,
        label="demo data",
        item_show_func=lambda step: step[0] if step else None,
        file=sys.stderr,
    ) as steps:
        lines = demo_service.run(session, ctx, seed=seed, options={"experts": experts}, steps=steps)
    for line in lines:
        click.echo(line)
    click.echo(f"demo logins (password for all: {demo_service.DEMO_PASSWORD}):")
    for login in demo_service.DEMO_LOGINS:
        click.echo(f"  {login.role.value:<15} {login.username}")
