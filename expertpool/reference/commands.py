"""Commands for reference data."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from expertpool.core.state import state
from expertpool.reference import catalogue as ref


@click.group()
def reference() -> None:
    """Reference data: specialties and regions."""


@reference.command("load")
@click.option(
    "--specialties",
    "spec_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A newer specialty table of the same shape (default: the bundled one).",
)
@click.option(
    "--regions",
    "region_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A regions table of the same shape (default: the bundled one).",
)
@with_appcontext
def reference_load(spec_file: Path | None, region_file: Path | None) -> None:
    """Import the specialty classification and the regions, reporting every defect."""

    session = state().sessions()
    for loader, rows in (
        (
            ref.load_regions,
            ref.read_table(region_file) if region_file else ref.bundled("regions-guangdong.json"),
        ),
        (
            ref.load_specialties,
            ref.read_table(spec_file) if spec_file else ref.bundled("specialties.json"),
        ),
    ):
        report = loader(session, rows, actor="cli")
        click.echo(
            f"{report.table}: {report.loaded} loaded ({report.added} added, {report.updated} "
            f"updated, {report.retired} retired), {len(report.defects)} defects"
        )
        for defect in report.defects:
            click.echo(f"  defect {defect}")
