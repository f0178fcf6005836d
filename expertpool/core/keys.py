"""Key files kept outside the database: creation, loading and rotation."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from cryptography.x509.oid import NameOID

from expertpool.core.config import Config

AUDIT_KEY = "audit-checkpoint.key"
PII_RING = "pii-keys.json"
BLIND_INDEX_KEY = "blind-index.key"
DRAW_RING = "draw-signing-keys.json"
SEALING_KEY = "sealing.key"
EXPERT_TOKEN_KEY = "expert-token.key"
REPORT_KEY = "report-signing-key.pem"
REPORT_CERT = "report-signing-cert.pem"
REPORT_CHAIN = "report-signing-chain.pem"
REPORT_RETIRED = "report-signing-retired.pem"
REPORT_SUBJECT = "expertpool evaluation reports (self-signed)"
REPORT_CERT_YEARS = 10


class KeyFileError(Exception):
    """A key file is missing or malformed."""


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text)


def _rewrite_secret(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    if tmp.exists():
        tmp.unlink()
    _write_secret(tmp, text)
    os.replace(tmp, path)


def public_key_b64(key: Ed25519PublicKey) -> str:
    """Raw public key bytes in standard base64."""
    return base64.b64encode(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


@dataclass(frozen=True)
class KeyRing:
    """Symmetric keys by id, the current one used for new values."""

    current: str
    keys: dict[str, bytes]


class KeyStore:
    """Reads and creates the application's key files in `Config.keys_path`."""

    def __init__(self, config: Config) -> None:
        self.path = config.keys_path

    # Creation ---------------------------------------------------------------
    def init(self) -> list[str]:
        """Create every missing key file; return the names created."""
        created = []
        if not (self.path / AUDIT_KEY).exists():
            _write_secret(self.path / AUDIT_KEY, secrets.token_hex(32))
            created.append(AUDIT_KEY)
        if not (self.path / BLIND_INDEX_KEY).exists():
            _write_secret(self.path / BLIND_INDEX_KEY, secrets.token_hex(32))
            created.append(BLIND_INDEX_KEY)
        if not (self.path / SEALING_KEY).exists():
            _write_secret(self.path / SEALING_KEY, secrets.token_hex(32))
            created.append(SEALING_KEY)
        if not (self.path / EXPERT_TOKEN_KEY).exists():
            _write_secret(self.path / EXPERT_TOKEN_KEY, secrets.token_hex(32))
            created.append(EXPERT_TOKEN_KEY)
        if not (self.path / PII_RING).exists():
            ring = {"current": "k1", "keys": {"k1": secrets.token_hex(32)}}
            _write_secret(self.path / PII_RING, json.dumps(ring, indent=1))
            created.append(PII_RING)
        if not (self.path / DRAW_RING).exists():
            ring = {"current": "d1", "keys": {"d1": secrets.token_hex(32)}, "retired_public": {}}
            _write_secret(self.path / DRAW_RING, json.dumps(ring, indent=1))
            created.append(DRAW_RING)
        if not (self.path / REPORT_KEY).exists():
            self._new_report_key()
            created.append(REPORT_KEY)
        return created

    # Loading ----------------------------------------------------------------
    def _read(self, name: str) -> str:
        path = self.path / name
        try:
            return path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise KeyFileError(f"key file {path} is missing; run `expertpool keys init`") from None

    def _hex32(self, name: str) -> bytes:
        raw = self._read(name)
        try:
            value = bytes.fromhex(raw)
        except ValueError:
            raise KeyFileError(f"key file {self.path / name} is not hex") from None
        if len(value) != 32:
            raise KeyFileError(f"key file {self.path / name} must hold 32 bytes")
        return value

    def audit_key(self) -> Ed25519PrivateKey:
        """The key signing audit checkpoints."""
        return Ed25519PrivateKey.from_private_bytes(self._hex32(AUDIT_KEY))

    def blind_index_key(self) -> bytes:
        """The HMAC key of the blind indexes."""
        return self._hex32(BLIND_INDEX_KEY)

    def expert_token_key(self) -> bytes:
        """The HMAC key of the per-expert tokens and per-draw pseudonyms (see `core/tokens.py`)."""
        return self._hex32(EXPERT_TOKEN_KEY)

    def sealing_key(self) -> bytes:
        """The AES key sealing draw secrets and panels until opening."""
        return self._hex32(SEALING_KEY)

    def _ring(self, name: str) -> dict[str, object]:
        try:
            data = json.loads(self._read(name))
        except json.JSONDecodeError:
            raise KeyFileError(f"key file {self.path / name} is not JSON") from None
        if not isinstance(data, dict) or "current" not in data or "keys" not in data:
            raise KeyFileError(f"key file {self.path / name} lacks current/keys")
        return data

    def pii_ring(self) -> KeyRing:
        """The AES-GCM keys for personal data."""
        data = self._ring(PII_RING)
        keys = {str(k): bytes.fromhex(str(v)) for k, v in dict(data["keys"]).items()}  # type: ignore[call-overload]
        return KeyRing(current=str(data["current"]), keys=keys)

    def rotate_pii(self) -> str:
        """Add a new current personal-data key; old ones stay for decryption. Returns its id."""
        data = self._ring(PII_RING)
        keys = dict(data["keys"])  # type: ignore[call-overload]
        new_id = f"k{len(keys) + 1}"
        while new_id in keys:
            new_id += "x"
        keys[new_id] = secrets.token_hex(32)
        _rewrite_secret(
            self.path / PII_RING, json.dumps({"current": new_id, "keys": keys}, indent=1)
        )
        return new_id

    def draw_signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        """The current draw-signing key and its id."""
        data = self._ring(DRAW_RING)
        current = str(data["current"])
        seed = bytes.fromhex(str(dict(data["keys"])[current]))  # type: ignore[call-overload]
        return current, Ed25519PrivateKey.from_private_bytes(seed)

    def draw_public_keys(self) -> dict[str, str]:
        """Every draw-signing public key ever used, by id (base64), current one included."""
        data = self._ring(DRAW_RING)
        out = {str(k): str(v) for k, v in dict(data.get("retired_public", {})).items()}  # type: ignore[call-overload]
        for key_id, seed_hex in dict(data["keys"]).items():  # type: ignore[call-overload]
            priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(str(seed_hex)))
            out[str(key_id)] = public_key_b64(priv.public_key())
        return out

    def rotate_draw(self) -> str:
        """Start a new draw-signing key; the old private key is destroyed, its public key kept."""
        data = self._ring(DRAW_RING)
        retired = dict(data.get("retired_public", {}))  # type: ignore[call-overload]
        for key_id, seed_hex in dict(data["keys"]).items():  # type: ignore[call-overload]
            priv = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(str(seed_hex)))
            retired[str(key_id)] = public_key_b64(priv.public_key())
        new_id = f"d{len(retired) + 1}"
        ring = {
            "current": new_id,
            "keys": {new_id: secrets.token_hex(32)},
            "retired_public": retired,
        }
        _rewrite_secret(self.path / DRAW_RING, json.dumps(ring, indent=1))
        return new_id

    # The centre's report-signing key and certificate (PAdES) ---------------------------------
    def _new_report_key(self) -> None:
        """A fresh ECDSA P-256 key with a self-signed certificate, until a licensed CA's is
        installed (`install_report_certificate`)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, REPORT_SUBJECT)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * REPORT_CERT_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
        _rewrite_secret(self.path / REPORT_KEY, pem)
        _rewrite_secret(self.path / REPORT_CERT, cert.public_bytes(Encoding.PEM).decode("ascii"))
        chain = self.path / REPORT_CHAIN
        if chain.exists():
            chain.unlink()

    def report_signing(self) -> tuple[bytes, bytes, list[bytes]]:
        """The report-signing private key, its certificate and the issuing chain (PEM each; the
        chain is empty for the self-signed certificate)."""
        key = self._read(REPORT_KEY).encode("ascii")
        cert = self._read(REPORT_CERT).encode("ascii")
        chain_path = self.path / REPORT_CHAIN
        chain = _split_pem(chain_path.read_bytes()) if chain_path.exists() else []
        return key, cert, chain

    def report_certificates(self) -> list[x509.Certificate]:
        """The current report-signing certificate first, then the retired ones (so that reports
        signed before a rotation still verify)."""
        out = [x509.load_pem_x509_certificate(self._read(REPORT_CERT).encode("ascii"))]
        retired = self.path / REPORT_RETIRED
        if retired.exists():
            out += [x509.load_pem_x509_certificate(p) for p in _split_pem(retired.read_bytes())]
        return out

    def _retire_report_certificate(self) -> None:
        current = (self.path / REPORT_CERT).read_bytes()
        retired = self.path / REPORT_RETIRED
        old = retired.read_bytes() if retired.exists() else b""
        retired.write_bytes(current.rstrip() + b"\n" + old)

    def rotate_report(self) -> str:
        """A new self-signed report-signing key; the old certificate stays published. Returns
        the new certificate's SHA-256 fingerprint."""
        self._retire_report_certificate()
        self._new_report_key()
        return self.report_certificates()[0].fingerprint(hashes.SHA256()).hex()

    def install_report_certificate(self, key_pem: bytes, cert_pem: bytes, chain_pem: bytes) -> str:
        """Install a key with a certificate issued by a licensed CA (and its chain); the old
        certificate stays published. Refuses a certificate that does not belong to the key.
        Returns the new certificate's SHA-256 fingerprint."""
        try:
            key = load_pem_private_key(key_pem, password=None)
            cert = x509.load_pem_x509_certificate(cert_pem)
            chain = [x509.load_pem_x509_certificate(p) for p in _split_pem(chain_pem)]
        except ValueError as exc:
            raise KeyFileError(f"not a PEM key or certificate: {exc}") from None
        if cert.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        ) != key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo):
            raise KeyFileError("the certificate does not belong to the key")
        self._retire_report_certificate()
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
        _rewrite_secret(self.path / REPORT_KEY, pem)
        _rewrite_secret(self.path / REPORT_CERT, cert.public_bytes(Encoding.PEM).decode("ascii"))
        _rewrite_secret(
            self.path / REPORT_CHAIN,
            "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in chain),
        )
        return cert.fingerprint(hashes.SHA256()).hex()


def _split_pem(data: bytes) -> list[bytes]:
    """The PEM blocks of a file, each with its armour."""
    end = b"-----END CERTIFICATE-----"
    return [part.strip() + b"\n" + end + b"\n" for part in data.split(end) if part.strip()]
