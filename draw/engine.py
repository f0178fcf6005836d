"""The draw itself (draw-v1 §5-§8): commitment, key, ranking, selection, sealed record,
transcript.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from heapq import nsmallest
from itertools import repeat
from operator import add
from typing import Any

from draw import cjson
from draw.allocations import owning_allocations
from draw.eligibility import Eligibility, check_eligible, check_pool, evaluate_eligibility
from draw.errors import Infeasible, InvalidInput
from draw.model import (
    MAX_ATTEMPTS,
    VERSION,
    Candidate,
    Commit,
    DrawRequest,
    DrawResult,
    GroupCommit,
    GroupResult,
    SealedRecord,
    Transcript,
    format_timestamp,
    require_beacon,
    require_beacon_round,
    require_secret,
    require_timestamp,
    require_witnesses,
)
from draw.signing import Signer, public_key_b64, sign_json

try:
    # OpenSSL's HMAC object itself: copy, update and digest without hmac.HMAC's Python
    # wrappers, which cost as much again as the HMAC on large pools. Same bytes.
    from _hashlib import hmac_new as _openssl_hmac
except ImportError:  # pragma: no cover - CPython built without OpenSSL
    _openssl_hmac = None  # type: ignore[assignment]


def generate_secret() -> str:
    """Draw a fresh 32-byte secret from the OS's cryptographic source, as 64 lowercase hex
    digits.
    """
    return secrets.token_hex(32)


def secret_digest(draw_id: str, secret: str) -> str:
    """H(["draw-v1/secret", draw_id, s_hex])."""
    return cjson.digest(["draw-v1/secret", draw_id, secret])


@owning_allocations
def build_commit(
    request: DrawRequest,
    candidates: Iterable[Candidate],
    secret: str,
    *,
    committed_at: datetime | str,
    beacon_round: str | None = None,
    eligibility: Eligibility | None = None,
) -> Commit:
    """Build the commitment of §5 (raises InsufficientPool before anything is committed)."""
    require_secret(secret)
    beacon_round = require_beacon_round(beacon_round)
    stamp = (
        require_timestamp(committed_at)
        if isinstance(committed_at, str)
        else format_timestamp(committed_at)
    )
    if eligibility is None:
        eligibility = evaluate_eligibility(request, candidates)
    check_pool(request, eligibility)
    # The models validated every value, so the unchecked serialiser is exact here
    # (json encodes tuples as arrays, so the views serialise exactly as to_json() would).
    pool = [c.canonical_view() for c in eligibility.candidates]
    return commit_from_digests(
        request,
        secret,
        stamp,
        beacon_round,
        pool_digest=cjson.digest_checked(pool),
        excluded_digest=cjson.digest_checked(eligibility.excluded_json()),
        eligible=eligibility.eligible,
    )


def commit_from_digests(
    request: DrawRequest,
    secret: str,
    committed_at: str,
    beacon_round: str | None,
    *,
    pool_digest: str,
    excluded_digest: str,
    eligible: Mapping[str, Sequence[str]],
) -> Commit:
    """Assemble the commitment of §5 from the pool and exclusion digests and eligible lists.

    Shared by `build_commit` and the columnar path (draw.columnar); raises InsufficientPool.
    """
    check_eligible(request, eligible)
    return Commit(
        draw_id=request.draw_id,
        request_digest=cjson.digest(request.to_json()),
        pool_digest=pool_digest,
        excluded_digest=excluded_digest,
        eligible=tuple(
            GroupCommit(g.id, len(ids), cjson.digest_checked(list(ids)))
            for g in request.groups
            for ids in (eligible[g.id],)
        ),
        secret_digest=secret_digest(request.draw_id, secret),
        beacon_round=beacon_round,
        committed_at=committed_at,
    )


@dataclass(frozen=True, slots=True)
class PreparedCommit:
    """Phase one of a draw: the commitment, its signature and the signer's public key."""

    commit: Commit
    signature: str
    public_key: str

    @property
    def digest(self) -> str:
        """H(commit), to show at the terminal before any witness types."""
        return self.commit.digest


def prepare_commit(
    request: DrawRequest,
    candidates: Iterable[Candidate],
    secret: str,
    signer: Signer,
    *,
    committed_at: datetime | str,
    beacon_round: str | None = None,
) -> PreparedCommit:
    """Build and sign the commitment (§5); store it with the secret before taking witnesses."""
    commit = build_commit(
        request, candidates, secret, committed_at=committed_at, beacon_round=beacon_round
    )
    return PreparedCommit(commit, sign_json(commit.to_json(), signer), public_key_b64(signer))


def derive_key(secret: str, commit: Commit, witnesses: Sequence[str], beacon: str | None) -> bytes:
    """key = HMAC(s, cjson({"commit": H(commit), "witnesses": witnesses, "beacon": beacon}))."""
    return _derive_key(secret, commit.digest, witnesses, beacon)


def _derive_key(
    secret: str, commit_digest: str, witnesses: Sequence[str], beacon: str | None
) -> bytes:
    """The key of §7 from the commit digest."""
    message = cjson.dumps({"commit": commit_digest, "witnesses": list(witnesses), "beacon": beacon})
    return hmac.digest(bytes.fromhex(secret), message, "sha256")


def rank(key: bytes, attempt: int, group_id: str, expert_id: str) -> str:
    """rank(t, g, e): lowercase hex HMAC(key, cjson(["draw-v1/rank", t, g, e]))."""
    return hmac.new(
        key, cjson.dumps(["draw-v1/rank", attempt, group_id, expert_id]), hashlib.sha256
    ).hexdigest()


def order(key: bytes, attempt: int, group_id: str, eligible: Iterable[str]) -> list[str]:
    """order(t, g): the eligible ids sorted by (rank, id)."""
    return sorted(eligible, key=lambda e: (rank(key, attempt, group_id, e), e))


class _Ranker:
    """Ranks one group's eligible ids fast, byte-exact to `rank`.

    Identifiers use only [A-Za-z0-9._:-], which JSON never escapes, so the message
    cjson(["draw-v1/rank", t, g, e]) is a per-attempt prefix followed by a per-expert tail.
    Raw digests sort like their lowercase hex, and eligible lists are ascending, so a stable
    sort of positions by digest is the order by (rank, id).
    """

    def __init__(self, key: bytes, group_id: str, eligible: Sequence[str]) -> None:
        self._base: Any = (
            hmac.new(key, digestmod=hashlib.sha256)
            if _openssl_hmac is None
            else _openssl_hmac(key, b"", "sha256")
        )
        self._group = group_id.encode("ascii")
        self._ids = eligible
        self._tails = list(map(add, map(str.encode, eligible), repeat(b'"]')))

    def first(self, attempt: int, how_many: int) -> list[str]:
        """The first `how_many` ids of order(attempt, g)."""
        prefix = b'["draw-v1/rank",%d,"%s","' % (attempt, self._group)
        # The HMAC state after the shared prefix, copied for each expert's tail.
        started = self._base.copy()
        started.update(prefix)
        copy = started.copy
        digests: list[bytes] = []
        append = digests.append
        for tail in self._tails:
            h = copy()
            h.update(tail)
            append(h.digest())
        ids = self._ids
        best = nsmallest(how_many, range(len(ids)), key=digests.__getitem__)
        return [ids[i] for i in best]


def select_from_eligibility(
    request: DrawRequest,
    eligibility: Eligibility,
    key: bytes,
) -> DrawResult:
    """Run §7 on eligible lists with a derived key: first accepted attempt, then backups."""
    employers: Mapping[str, str] = {}
    if request.distinct_employers:
        employers = {c.id: c.employer for c in eligibility.candidates}
    return select_from_lists(request, eligibility.eligible, employers, key)


@owning_allocations
def select_from_lists(
    request: DrawRequest,
    eligible: Mapping[str, Sequence[str]],
    employers: Mapping[str, str],
    key: bytes,
) -> DrawResult:
    """§7 on each group's eligible ids (ascending) and, when the request asks for distinct
    employers, every eligible id's employer ("" when none).
    """
    if request.distinct_employers:
        _refuse_impossible_employers(request, eligible, employers)
    total = sum(g.count for g in request.groups)
    rankers = [_Ranker(key, g.id, eligible[g.id]) for g in request.groups]
    for attempt in range(MAX_ATTEMPTS):
        heads = [
            r.first(attempt, g.count + g.backups + total)
            for g, r in zip(request.groups, rankers, strict=True)
        ]
        chosen = [h[: g.count] for g, h in zip(request.groups, heads, strict=True)]
        if not _is_acceptable(chosen, total, employers if request.distinct_employers else None):
            continue
        primaries = {e for ids in chosen for e in ids}
        groups = []
        for g, head, ids in zip(request.groups, heads, chosen, strict=True):
            backups = [e for e in head if e not in primaries][: g.backups]
            groups.append(GroupResult(g.id, tuple(ids), tuple(backups)))
        return DrawResult(attempt, tuple(groups))
    raise Infeasible(MAX_ATTEMPTS)


def _is_acceptable(
    chosen: Sequence[Sequence[str]], total: int, employers: Mapping[str, str] | None
) -> bool:
    """An attempt is accepted when no id is primary twice and, if asked, employers are distinct."""
    everyone = [e for ids in chosen for e in ids]
    if len(set(everyone)) != total:
        return False
    if employers is not None:
        named = [employers[e] for e in everyone if employers[e] != ""]
        if len(set(named)) != len(named):
            return False
    return True


def _refuse_impossible_employers(
    request: DrawRequest, eligible: Mapping[str, Sequence[str]], employers: Mapping[str, str]
) -> None:
    """Fail at once when distinct employers cannot fill the seats: all 1000 attempts would fail."""
    theirs = list(map(employers.__getitem__, set().union(*eligible.values())))
    without = theirs.count("")
    distinct = len(set(theirs)) - (1 if without else 0)
    needed = sum(g.count for g in request.groups)
    if without + distinct < needed:
        raise Infeasible(
            MAX_ATTEMPTS,
            f"{needed} primaries need distinct employers but the eligible experts have only "
            f"{distinct} employers and {without} experts without one",
        )


def select(
    request: DrawRequest,
    candidates: Iterable[Candidate],
    secret: str,
    commit: Commit,
    witnesses: Sequence[str],
    beacon: str | None,
) -> DrawResult:
    """Phase two of a draw (§6-§7): rank and select after the witnesses have typed.

    Recomputes §4-§5 from the inputs and refuses (InvalidInput) when they are not the ones
    committed to, so a snapshot reloaded from storage cannot silently differ.
    """
    require_secret(secret)
    witnesses = require_witnesses(list(witnesses))
    beacon = require_beacon(beacon, commit.beacon_round)
    eligibility = evaluate_eligibility(request, candidates)
    recomputed = build_commit(
        request,
        (),
        secret,
        committed_at=commit.committed_at,
        beacon_round=commit.beacon_round,
        eligibility=eligibility,
    )
    if recomputed != commit:
        fields = [
            name
            for name in (
                "draw_id",
                "request_digest",
                "pool_digest",
                "excluded_digest",
                "eligible",
                "secret_digest",
                "version",
            )
            if getattr(recomputed, name) != getattr(commit, name)
        ]
        raise InvalidInput("commit", "inputs do not match the commitment: " + ", ".join(fields))
    key = _derive_key(secret, commit.digest, witnesses, beacon)
    return select_from_eligibility(request, eligibility, key)


def result_digest(secret: str, result: DrawResult) -> str:
    """H(["draw-v1/result", s_hex, result]): hides the names until the secret is opened."""
    return cjson.digest(["draw-v1/result", secret, result.to_json()])


def build_sealed(
    commit: Commit, witnesses: Sequence[str], beacon: str | None, result: DrawResult, secret: str
) -> SealedRecord:
    """The sealed record of §8, published (signed) at draw time."""
    return SealedRecord(commit, tuple(witnesses), beacon, result_digest(secret, result))


def sign_sealed(sealed: SealedRecord, signer: Signer) -> str:
    """The sealed signature: Ed25519 over cjson(sealed)."""
    return sign_json(sealed.to_json(), signer)


@owning_allocations
def build_transcript(
    request: DrawRequest,
    candidates: Iterable[Candidate],
    secret: str,
    commit: Commit,
    witnesses: Sequence[str],
    beacon: str | None,
    result: DrawResult,
    *,
    public_key: str,
    commit_signature: str,
    sealed_signature: str,
) -> Transcript:
    """The full transcript of §8, for release to auditors after opening."""
    ordered = tuple(sorted(candidates, key=lambda c: c.id))
    return Transcript(
        request=request,
        candidates=ordered,
        secret=secret,
        commit=commit,
        witnesses=tuple(witnesses),
        beacon=beacon,
        result=result,
        public_key=public_key,
        commit_signature=commit_signature,
        sealed_signature=sealed_signature,
        version=VERSION,
    )


def run_draw(
    request: DrawRequest,
    candidates: Sequence[Candidate],
    secret: str,
    witnesses: Sequence[str],
    signer: Signer,
    *,
    committed_at: datetime | str,
    beacon_round: str | None = None,
    beacon: str | None = None,
) -> Transcript:
    """Both phases in one call (for the command line, tests and benchmarks)."""
    require_secret(secret)
    witnesses = require_witnesses(list(witnesses))
    beacon_round = require_beacon_round(beacon_round)
    beacon = require_beacon(beacon, beacon_round)
    eligibility = evaluate_eligibility(request, candidates)
    commit = build_commit(
        request,
        (),
        secret,
        committed_at=committed_at,
        beacon_round=beacon_round,
        eligibility=eligibility,
    )
    commit_signature = sign_json(commit.to_json(), signer)
    key = _derive_key(secret, commit.digest, witnesses, beacon)
    result = select_from_eligibility(request, eligibility, key)
    sealed = build_sealed(commit, witnesses, beacon, result, secret)
    return build_transcript(
        request,
        eligibility.candidates,
        secret,
        commit,
        witnesses,
        beacon,
        result,
        public_key=public_key_b64(signer),
        commit_signature=commit_signature,
        sealed_signature=sign_sealed(sealed, signer),
    )
