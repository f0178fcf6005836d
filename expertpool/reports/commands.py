"""Commands: check a signed report, and rotate or replace the centre's report-signing key."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import click
from cryptography import x509
from flask.cli import with_appcontext

from expertpool.accounts import users
from expertpool.core import audit
from expertpool.core.state import state
from expertpool.reports.signing import verify_pdf


@click.group()
def reports() -> None:
    """Signed evaluation reports."""


@reports.command("verify")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--cert",
    "cert",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Trusted certificates (PEM), e.g. downloaded from /keys; default: this server's.",
)
@with_appcontext
def reports_verify(pdf: Path, cert: Path | None) -> None:
    """Check a report's PDF signature; exit 1 unless it is intact and by a trusted certificate."""
    trusted = (
        x509.load_pem_x509_certificates(cert.read_bytes())
        if cert is not None
        else state().keys.report_certificates()
    )
    data = pdf.read_bytes()
    result = verify_pdf(data, trusted)
    click.echo(f"sha256 {hashlib.sha256(data).hexdigest()}")
    click.echo(f"signer {result.signer or '-'}")
    for name in ("is_signed", "intact", "valid", "trusted", "covers_whole_file"):
        click.echo(f"{name} {'yes' if getattr(result, name) else 'NO'}")
    if result.problem:
        click.echo(f"problem {result.problem}")
    if not result.is_ok:
        click.echo("FAIL: this is not the report the centre signed")
        sys.exit(1)
    click.echo("OK: the report is unchanged since the centre signed it")


@click.command("rotate-report")
@click.option("--by", "by", required=True, help="The security administrator's username.")
@with_appcontext
def keys_rotate_report(by: str) -> None:
    """Start a new self-signed report-signing key; old certificates stay published."""
    st = state()
    session = st.sessions()
    keeper = users.key_keeper(session, by, single_admin=st.config.single_admin)
    fingerprint = st.keys.rotate_report()
    audit.record(
        session,
        actor=keeper.username,
        action="keys.rotate_report",
        object_type="key",
        object_id=fingerprint[:16],
        after={"certificate_sha256": fingerprint},
    )
    session.commit()
    click.echo(f"new report-signing certificate: sha256 {fingerprint}")


@click.command("install-report-cert")
@click.option("--by", "by", required=True, help="The security administrator's username.")
@click.option("--key", "key", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--cert", "cert", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--chain", "chain", type=click.Path(exists=True, path_type=Path), default=None)
@with_appcontext
def keys_install_report_cert(by: str, key: Path, cert: Path, chain: Path | None) -> None:
    """Install the report-signing key with a certificate issued by a licensed CA (PEM files)."""
    st = state()
    session = st.sessions()
    keeper = users.key_keeper(session, by, single_admin=st.config.single_admin)
    fingerprint = st.keys.install_report_certificate(
        key.read_bytes(), cert.read_bytes(), chain.read_bytes() if chain else b""
    )
    audit.record(
        session,
        actor=keeper.username,
        action="keys.install_report_cert",
        object_type="key",
        object_id=fingerprint[:16],
        after={"certificate_sha256": fingerprint},
    )
    session.commit()
    click.echo(f"installed report-signing certificate: sha256 {fingerprint}")
