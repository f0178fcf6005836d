"""The centre's report-signing key: PAdES signatures that validate, rotation keeping old
certificates, and a licensed CA's certificate installed with its chain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from cryptography.x509.oid import NameOID
from fpdf import FPDF

from expertpool.core.config import Config
from expertpool.core.keys import REPORT_KEY, KeyFileError, KeyStore
from expertpool.reports.signing import PadesSigner, verify_pdf


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="evaluation report")
    return bytes(pdf.output())


@pytest.fixture()
def keys(tmp_path: Path) -> KeyStore:
    store = KeyStore(Config(instance_path=str(tmp_path)))
    assert REPORT_KEY in store.init()
    return store


def test_a_signed_pdf_validates_and_one_changed_byte_breaks_it(keys: KeyStore) -> None:
    signed = PadesSigner(keys).sign(_pdf(), reason="test", location="广州")
    trusted = keys.report_certificates()
    assert verify_pdf(signed, trusted).is_ok
    at = signed.index(b"/Producer") + 3
    changed = signed[:at] + bytes([signed[at] ^ 0x20]) + signed[at + 1 :]
    assert not verify_pdf(changed, trusted).is_ok
    assert not verify_pdf(_pdf(), trusted).is_signed
    assert not verify_pdf(signed + b"% appended after signing\n", trusted).is_ok


def test_the_key_file_is_private_and_a_rotation_keeps_the_old_certificate(
    keys: KeyStore,
) -> None:
    assert (keys.path / REPORT_KEY).stat().st_mode & 0o077 == 0
    signed = PadesSigner(keys).sign(_pdf(), reason="test", location="广州")
    old = keys.report_certificates()[0]
    fingerprint = keys.rotate_report()
    certs = keys.report_certificates()
    assert (
        certs[0].fingerprint(hashes.SHA256()).hex()
        == fingerprint
        != old.fingerprint(hashes.SHA256()).hex()
    )
    assert certs[1] == old
    assert verify_pdf(signed, certs).is_ok  # reports signed before the rotation still verify
    assert not verify_pdf(signed, certs[:1]).is_ok


def test_a_licensed_cas_certificate_is_installed_with_its_chain(keys: KeyStore) -> None:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "某电子认证服务机构 Root")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "广州公共资源交易中心")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(  # a document-signing certificate: non-repudiation is what readers check
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    with pytest.raises(KeyFileError):  # a certificate of another key is refused
        keys.install_report_certificate(
            key_pem, ca.public_bytes(Encoding.PEM), ca.public_bytes(Encoding.PEM)
        )
    keys.install_report_certificate(
        key_pem, leaf.public_bytes(Encoding.PEM), ca.public_bytes(Encoding.PEM)
    )
    assert keys.report_certificates()[0] == leaf
    signed = PadesSigner(keys).sign(_pdf(), reason="test", location="广州")
    # A reader who trusts only the CA's root accepts it: the chain is in the signature.
    assert verify_pdf(signed, [ca]).is_ok
