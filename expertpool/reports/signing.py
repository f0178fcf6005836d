"""Signing a report PDF behind one small interface, and checking a signed one.

:class:`ReportSigner` is all the report needs from a signer: sign PDF bytes, name itself, give
the certificate to publish. :class:`PadesSigner` makes a PAdES signature (ETSI EN 319 142,
``ETSI.CAdES.detached``) with pyHanko under the centre's key from the key files, so any PDF
reader shows whether the file was altered after signing. A national-algorithm (SM2/SM3) signer
would be a second implementation of the same protocol, chosen in `create_app`.

:func:`verify_pdf` checks a signed PDF against trusted certificates with pyHanko's validator;
it is what `expertpool reports verify` and the tests run (docs/reports.md).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from expertpool.core.keys import KeyStore

FIELD_NAME = "CentreSignature"
T = TypeVar("T")


def _off_event_loop(call: Callable[[], T]) -> T:
    """Run ``call`` where no asyncio loop is running: pyHanko's blocking API runs its own loop
    (`asyncio.run`), which fails inside a thread that already runs one (a caller using asyncio,
    Playwright's sync API)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


class ReportSigner(Protocol):
    """Signs a report PDF with the centre's key.

    ``sign`` returns the whole signed file (the input plus an incremental update holding the
    signature); it raises on a missing or unreadable key, never returns an unsigned file.
    ``name`` says which kind of signature this is (stored with the archived report);
    ``certificate_sha256`` identifies the certificate that verifies it.
    """

    name: str

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """The signed PDF."""
        ...

    def certificate_sha256(self) -> str:
        """The SHA-256 fingerprint (hex) of the signing certificate."""
        ...


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


class PadesSigner:
    """PAdES signatures by the centre's key file (ECDSA or RSA, SHA-256), with the CA chain
    embedded when a licensed CA's certificate is installed."""

    name = "pades"

    def __init__(self, keys: KeyStore) -> None:
        # The key is read on each signature: a rotation or an installed certificate takes
        # effect without a restart, and no key material is kept on the object.
        self.keys = keys

    def certificate_sha256(self) -> str:
        """The fingerprint of the current certificate."""
        return self.keys.report_certificates()[0].fingerprint(hashes.SHA256()).hex()

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        """Sign ``pdf`` (an incremental update; the bytes before it stay as they were)."""
        key_pem, cert_pem, chain_pems = self.keys.report_signing()
        key = load_pem_private_key(key_pem, password=None)
        der = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        cert = x509.load_pem_x509_certificate(cert_pem)
        chain = [_asn1_cert(x509.load_pem_x509_certificate(p)) for p in chain_pems]
        signer = signers.SimpleSigner(
            signing_cert=_asn1_cert(cert),
            signing_key=asn1_keys.PrivateKeyInfo.load(der),
            cert_registry=SimpleCertificateStore.from_certs(chain),  # type: ignore[no-untyped-call]
        )
        meta = PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        out = io.BytesIO()
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        _off_event_loop(lambda: signers.sign_pdf(writer, meta, signer=signer, output=out))
        return out.getvalue()


@dataclass(frozen=True)
class Verification:
    """What the validator found: whether the signed bytes are unchanged (``intact``), the
    signature is mathematically valid (``valid``), its certificate chains to a trusted one
    (``trusted``), and the whole file is covered (no later change)."""

    is_signed: bool
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    signer: str
    problem: str = ""

    @property
    def is_ok(self) -> bool:
        """Everything holds: the report is the one the centre signed."""
        checks = (self.is_signed, self.intact, self.valid, self.trusted, self.covers_whole_file)
        return all(checks)


def verify_pdf(pdf: bytes, trusted: list[x509.Certificate]) -> Verification:
    """Check the centre's signature of ``pdf`` against the ``trusted`` certificates."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = [s for s in reader.embedded_signatures if s.field_name == FIELD_NAME]
        if not sigs:
            return Verification(False, False, False, False, False, "", "no centre signature")
        context = ValidationContext(trust_roots=[_asn1_cert(c) for c in trusted])
        status = _off_event_loop(lambda: validate_pdf_signature(sigs[0], context))
    except Exception as exc:  # a damaged file is a failed check, with the reason
        return Verification(True, False, False, False, False, "", f"unreadable: {exc}")
    coverage = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    return Verification(
        True,
        bool(status.intact),
        bool(status.valid),
        bool(status.trusted),
        coverage,
        status.signing_cert.subject.human_friendly,
    )
