"""The columnar path for large pools (issue #30): the same draw-v1 bytes, no object per candidate.

`python -m draw run` and `verify` read documents whose `candidates` array can hold a million
experts. Parsing it into frozen `Candidate` objects and validating field by field costs several
times the HMAC floor and about 2 GB; this path instead:

1. cuts the `candidates` array out of the raw bytes in chunks of a few thousand candidates,
   parses each chunk with orjson and keeps only columns (ids, and the other fields as
   references to one shared copy of each distinct value);
2. validates a column at once (identifiers with one regular expression over the joined column,
   the other fields over their few distinct values);
3. runs §4 over the columns and §5-§8 with the engine's own commitment and selection code,
   serialising the pool once: its canonical bytes are both hashed for `pool_digest` and
   spliced into the transcript.

It is an optimisation only. Whenever the input is anything but well formed and compact, the
loader answers None and the caller takes the straightforward path (`cjson.loads`, `Candidate`,
`evaluate_eligibility`), which gives the exact error or failure report; so errors, messages
and exit codes are those of the straightforward path, and the transcripts are byte for byte
the same (tests/unit/draw/test_columnar.py compares both on generated pools).

Strictness kept from `cjson.loads`: orjson keeps the last of duplicated keys silently, so a
chunk is accepted only when orjson serialises the parsed chunk back to exactly its input bytes
(a parsed object cannot have a duplicate key, so equal bytes prove the input had none); the
rest of the document (without the candidates) goes through `cjson.loads` itself.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import compress, islice, product, repeat
from operator import and_, itemgetter, lt, not_
from typing import Any, TypeVar

import orjson

from draw import cjson
from draw.allocations import own_allocations
from draw.eligibility import Reason
from draw.engine import (
    _derive_key,
    build_sealed,
    commit_from_digests,
    select_from_lists,
    sign_sealed,
)
from draw.errors import InvalidInput
from draw.model import (
    CANDIDATE_KEYS,
    VERSION,
    Commit,
    DrawRequest,
    DrawResult,
    format_timestamp,
    require_beacon,
    require_beacon_round,
    require_identifier,
    require_secret,
    require_text,
    require_timestamp,
    require_witnesses,
)
from draw.signing import Signer, public_key_b64, sign_json

CHUNK_BYTES = 1 << 20
"""About how many bytes of the candidates array orjson parses at a time."""

_MARKER = b'"candidates":['
_IDENTIFIER_LINES = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\n)*")
_GET = [itemgetter(name) for name in sorted(CANDIDATE_KEYS)]
# sorted(CANDIDATE_KEYS): available, avoid_orgs, employer, id, recent_draws, region,
# specialties, status.
_MAX = cjson.MAX_SAFE - 1
T = TypeVar("T")


@dataclass(slots=True)
class Pool:
    """A validated pool snapshot as columns, in ascending id order.

    `pieces` (run only) holds each candidate's canonical object without its braces; `digest`
    (verify only) is already H(candidates). Array fields are tuples shared by every candidate
    with the same value.
    """

    ids: list[str]
    status: list[str]
    available: list[bool]
    specialties: list[tuple[str, ...]]
    region: list[str]
    employer: list[str]
    avoid_orgs: list[tuple[str, ...]]
    recent_draws: list[int]
    pieces: list[bytes] | None
    digest: str | None

    def canonical_json(self) -> bytes:
        """cjson(candidates) in id order (run only)."""
        assert self.pieces is not None
        if not self.pieces:
            return b"[]"
        return b"[{" + b"},{".join(self.pieces) + b"}]"


class _Refused(Exception):
    """The fast path does not apply; the straightforward path decides."""


def _same_type(values: Any, kind: type) -> None:
    """Refuse unless every value is exactly of `kind`."""
    if not set(map(type, values)) <= {kind}:
        raise _Refused


def _intern(values: Any, table: dict[Any, Any]) -> Iterator[Any]:
    """Each value replaced by the table's one copy of it (TypeError for unhashable values)."""
    return map(table.setdefault, values, values)


class _Columns:
    """Accumulates the columns chunk by chunk."""

    def __init__(self, keep_pieces: bool) -> None:
        self.ids: list[str] = []
        self.status: list[str] = []
        self.available: list[bool] = []
        self.specialties: list[tuple[str, ...]] = []
        self.region: list[str] = []
        self.employer: list[str] = []
        self.avoid_orgs: list[tuple[str, ...]] = []
        self.recent_draws: list[int] = []
        self.pieces: list[bytes] | None = [] if keep_pieces else None
        self.hasher = None if keep_pieces else hashlib.sha256(b"[")
        self.first = True
        self.tables: tuple[dict[Any, Any], ...] = ({}, {}, {}, {}, {})

    def add(self, chunk: list[Any], text: bytes) -> None:
        """Take one parsed chunk of candidates and its text (refuse anything not exactly of
        form).
        """
        if set(map(type, chunk)) != {dict} or set(map(len, chunk)) != {len(CANDIDATE_KEYS)}:
            raise _Refused
        try:
            available, avoid, employer, ids, recent, region, specialties, status = (
                list(map(get, chunk)) for get in _GET
            )
        except KeyError:
            raise _Refused from None
        _same_type(available, bool)
        _same_type(ids, str)
        _same_type(recent, int)
        _same_type(specialties, list)
        _same_type(avoid, list)
        t_status, t_region, t_employer, t_spec, t_avoid = self.tables
        try:
            self.status.extend(_intern(status, t_status))
            self.region.extend(_intern(region, t_region))
            self.employer.extend(_intern(employer, t_employer))
            self.specialties.extend(_intern(list(map(tuple, specialties)), t_spec))
            self.avoid_orgs.extend(_intern(list(map(tuple, avoid)), t_avoid))
        except TypeError:  # an unhashable value where a string belongs
            raise _Refused from None
        self.ids.extend(ids)
        self.available.extend(available)
        self.recent_draws.extend(recent)
        # Identifiers are never escaped and keys sort the same bytewise and by code point, so
        # orjson's sorted output is cjson once `check_values` has passed; a status that
        # contains '},{' would break the split below, and is left to the slow path.
        try:
            canonical = orjson.dumps(chunk, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            raise _Refused from None
        # No repeated key: orjson keeps the last of repeated keys silently, so compare lengths.
        # Once `check_values` has passed (no floats; identifiers, which need no escape; each
        # status escaped by orjson exactly as by cjson, i.e. the shortest way JSON allows),
        # orjson writes every kept member in at most the bytes the input used (no whitespace,
        # integers without "-0"), and key order does not change the length; a dropped
        # duplicate member would make the input longer. Equal lengths thus prove the chunk
        # repeated no key (and was compact); anything else goes to the strict path.
        if len(canonical) != len(text):
            raise _Refused
        if self.pieces is not None:
            parts = canonical[2:-2].split(b"},{")
            if len(parts) != len(chunk):
                raise _Refused
            self.pieces.extend(parts)
        else:
            assert self.hasher is not None
            if not self.first:
                self.hasher.update(b",")
            self.hasher.update(canonical[1:-1])
        self.first = False

    def check_values(self) -> None:
        """Validate every column against draw-v1 §3 (refuse on anything out of form)."""
        t_status, t_region, t_employer, t_spec, t_avoid = self.tables
        n = len(self.ids)
        joined = "\n".join(self.ids) + "\n" if n else ""
        if joined.count("\n") != n or _IDENTIFIER_LINES.fullmatch(joined) is None:
            raise _Refused
        if self.recent_draws and (min(self.recent_draws) < 0 or max(self.recent_draws) > _MAX):
            raise _Refused
        try:
            for value in t_status:
                if value != "active":
                    require_text(value, "status", non_empty=False)
                # The one string field that may need escaping: orjson must escape it as
                # cjson does.
                if orjson.dumps(value) != json.dumps(value, ensure_ascii=False).encode("utf-8"):
                    raise _Refused
            for value in t_region:
                require_identifier(value, "region")
            for value in t_employer:
                if value != "" or type(value) is not str:
                    require_identifier(value, "employer")
            for table in (t_spec, t_avoid):
                for codes in table:
                    for code in codes:
                        require_identifier(code, "code")
        except InvalidInput:
            raise _Refused from None

    def pool(self, *, ascending: bool) -> Pool:
        """The validated pool in id order; with `ascending` the input had to be in order."""
        self.check_values()
        ids = self.ids
        if ascending:
            if not all(map(lt, ids, islice(ids, 1, None))):
                raise _Refused
            order = None
        else:
            if len(set(ids)) != len(ids):
                raise _Refused
            order = sorted(range(len(ids)), key=ids.__getitem__)

        def arranged(column: list[T]) -> list[T]:
            return column if order is None else list(map(column.__getitem__, order))

        digest = None
        if self.hasher is not None:
            self.hasher.update(b"]")
            digest = self.hasher.hexdigest()
        return Pool(
            ids=arranged(ids),
            status=arranged(self.status),
            available=arranged(self.available),
            specialties=arranged(self.specialties),
            region=arranged(self.region),
            employer=arranged(self.employer),
            avoid_orgs=arranged(self.avoid_orgs),
            recent_draws=arranged(self.recent_draws),
            pieces=None if self.pieces is None else arranged(self.pieces),
            digest=digest,
        )


def load_with_pool(data: bytes, *, ascending: bool) -> tuple[dict[str, Any], Pool] | None:
    """Parse a document with a top-level `candidates` array: the rest of the document (its
    `candidates` replaced by a placeholder string) and the validated pool; None when the fast
    path does not apply.

    `ascending` (transcripts): the candidates must already be in strictly ascending id order
    and only H(candidates) is kept; otherwise (run inputs) they are sorted and each one's
    canonical bytes are kept for the transcript.
    """
    with own_allocations():
        try:
            return _load(data, ascending)
        except _Refused:
            return None


def _load(data: bytes, ascending: bool) -> tuple[dict[str, Any], Pool]:
    """`load_with_pool`, raising _Refused."""
    at = data.find(_MARKER)
    if at < 0:
        raise _Refused
    start = at + len(_MARKER)
    close = data.find(b"}]", start)
    if close < 0 or data[start : start + 1] != b"{":
        raise _Refused
    columns = _Columns(keep_pieces=not ascending)
    position = start
    while True:
        cut = data.find(b"},{", position + CHUNK_BYTES, close)
        end = close + 1 if cut < 0 else cut + 1
        text = b"".join((b"[", memoryview(data)[position:end], b"]"))
        try:
            chunk = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _Refused from None
        if type(chunk) is not list:
            raise _Refused
        columns.add(chunk, text)
        del chunk, text
        if cut < 0:
            break
        position = cut + 2
    # The rest of the document, strictly, with a placeholder no input can contain: it must be
    # the top-level `candidates`, so the array cut out above was that one.
    placeholder = "placeholder-" + secrets.token_hex(16)
    if placeholder.encode("ascii") in data:
        raise _Refused
    rest = data[:at] + b'"candidates":"' + placeholder.encode("ascii") + b'"' + data[close + 2 :]
    try:
        document = cjson.loads(rest)
    except InvalidInput:
        raise _Refused from None
    if type(document) is not dict or document.get("candidates") != placeholder:
        raise _Refused
    return document, columns.pool(ascending=ascending)


# --- §4 over columns ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """§4 over a pool: each group's eligible ids, their employers, and the two digests."""

    eligible: dict[str, tuple[str, ...]]
    employers: dict[str, str]
    pool_digest: str
    excluded_digest: str


def evaluate(request: DrawRequest, pool: Pool) -> Outcome:
    """Apply §4 to the columns exactly as `evaluate_eligibility` does to candidates."""
    with own_allocations():
        return _evaluate(request, pool)


def _first_reason(
    active: bool, available: bool, excluded: bool, employer: bool, avoid: bool, capped: bool
) -> str:
    """The first rule of §4 that applies to a candidate with these facts ("" when none)."""
    for applies, reason in (
        (not active, Reason.NOT_ACTIVE),
        (not available, Reason.UNAVAILABLE),
        (excluded, Reason.EXCLUDED),
        (employer, Reason.EMPLOYER_CONFLICT),
        (avoid, Reason.AVOIDANCE_CONFLICT),
        (capped, Reason.FREQUENCY_CAP),
    ):
        if applies:
            return reason.value
    return ""


_FACTS = [(a, b, c, d, e, f) for a, b, c, d, e, f in product((False, True), repeat=6)]
_REASONS = {facts: _first_reason(*facts) for facts in _FACTS}
"""The first reason for each of the 64 combinations of the six facts of §4."""
_EXCLUSION = '{{"id":"{}","reason":"{}"}}'
"""cjson of one exclusion: identifiers and reasons are never escaped."""


def _evaluate(request: DrawRequest, pool: Pool) -> Outcome:
    """§4 as whole-column operations: each rule is decided once per distinct value, then
    looked up for every candidate by C-level `map`s (no Python statement per candidate).
    """
    orgs = set(request.bidder_orgs) | set(request.tenderer_orgs) | set(request.agency_orgs)
    excluded_ids = set(request.excluded_experts)
    cap = request.max_recent_draws
    active = {status: status == "active" for status in set(pool.status)}
    employer_conflict = {e: e != "" and e in orgs for e in set(pool.employer)}
    avoid_conflict = {a: not orgs.isdisjoint(a) for a in set(pool.avoid_orgs)}
    capped: Iterator[bool] = (
        repeat(False, len(pool.ids)) if cap is None else map(cap.__le__, pool.recent_draws)
    )
    reasons = list(
        map(
            _REASONS.__getitem__,
            zip(
                map(active.__getitem__, pool.status),
                pool.available,
                map(excluded_ids.__contains__, pool.ids),
                map(employer_conflict.__getitem__, pool.employer),
                map(avoid_conflict.__getitem__, pool.avoid_orgs),
                capped,
                strict=True,
            ),
        )
    )
    excluded = ",".join(
        map(
            '{{"id":"{}","reason":"{}"}}'.format, compress(pool.ids, reasons), filter(None, reasons)
        )
    )
    eligible_mask = list(map(not_, reasons))
    del reasons
    # Each distinct (specialties, region) profile gets a number once; a group is then a
    # list of booleans indexed by profile number.
    numbers = {
        profile: number
        for number, profile in enumerate(set(zip(pool.specialties, pool.region, strict=True)))
    }
    profile_of = list(map(numbers.__getitem__, zip(pool.specialties, pool.region, strict=True)))
    distinct_codes = {codes for codes, _ in numbers}
    distinct_regions = {region for _, region in numbers}
    eligible: dict[str, tuple[str, ...]] = {}
    employers: dict[str, str] = {}
    for group in request.groups:
        regions_in = frozenset(group.regions_in)
        regions_out = frozenset(group.regions_out)
        prefixes = group.specialties
        codes_match = {
            codes: any(code.startswith(prefixes) for code in codes) for codes in distinct_codes
        }
        region_match = {
            region: (not regions_in or region in regions_in) and region not in regions_out
            for region in distinct_regions
        }
        matches = [codes_match[codes] and region_match[region] for codes, region in numbers]
        mask = list(map(and_, eligible_mask, map(matches.__getitem__, profile_of)))
        eligible[group.id] = tuple(compress(pool.ids, mask))
        if request.distinct_employers:
            employers.update(zip(eligible[group.id], compress(pool.employer, mask), strict=True))
    pool_digest = pool.digest
    if pool_digest is None:
        pool_digest = hashlib.sha256(pool.canonical_json()).hexdigest()
    return Outcome(
        eligible=eligible,
        employers=employers,
        pool_digest=pool_digest,
        excluded_digest=hashlib.sha256(("[" + excluded + "]").encode("ascii")).hexdigest(),
    )


def commit_for(
    request: DrawRequest,
    outcome: Outcome,
    secret: str,
    committed_at: datetime | str,
    beacon_round: str | None,
) -> Commit:
    """The commitment of §5 from a columnar outcome (raises InsufficientPool)."""
    require_secret(secret)
    beacon_round = require_beacon_round(beacon_round)
    stamp = (
        require_timestamp(committed_at)
        if isinstance(committed_at, str)
        else format_timestamp(committed_at)
    )
    return commit_from_digests(
        request,
        secret,
        stamp,
        beacon_round,
        pool_digest=outcome.pool_digest,
        excluded_digest=outcome.excluded_digest,
        eligible=outcome.eligible,
    )


def select(request: DrawRequest, outcome: Outcome, key: bytes) -> DrawResult:
    """§7 on a columnar outcome."""
    with own_allocations():
        return select_from_lists(request, outcome.eligible, outcome.employers, key)


def run_draw(
    request: DrawRequest,
    pool: Pool,
    secret: str,
    witnesses: Sequence[str],
    signer: Signer,
    *,
    committed_at: datetime | str,
    beacon_round: str | None = None,
    beacon: str | None = None,
) -> list[bytes]:
    """Both phases on a columnar pool (run input): the transcript as canonical JSON, in parts
    whose concatenation is ``cjson.dumps(engine.run_draw(...).to_json())``.
    """
    require_secret(secret)
    witnesses = require_witnesses(list(witnesses))
    beacon_round = require_beacon_round(beacon_round)
    beacon = require_beacon(beacon, beacon_round)
    candidates = pool.canonical_json()
    pool.digest = hashlib.sha256(candidates).hexdigest()
    pool.pieces = None  # joined above; free the per-candidate bytes
    outcome = evaluate(request, pool)
    commit = commit_for(request, outcome, secret, committed_at, beacon_round)
    commit_signature = sign_json(commit.to_json(), signer)
    key = _derive_key(secret, commit.digest, witnesses, beacon)
    result = select(request, outcome, key)
    sealed = build_sealed(commit, witnesses, beacon, result, secret)
    rest: Mapping[str, Any] = {
        "version": VERSION,
        "request": request.to_json(),
        "secret": secret,
        "commit": commit.to_json(),
        "witnesses": list(witnesses),
        "beacon": beacon,
        "result": result.to_json(),
        "public_key": public_key_b64(signer),
        "signatures": {"commit": commit_signature, "sealed": sign_sealed(sealed, signer)},
    }
    return splice(rest, candidates)


def splice(rest: Mapping[str, Any], candidates: bytes) -> list[bytes]:
    """cjson of `rest` with a `candidates` member whose canonical bytes are given, as parts to
    write one after the other (the pool is not copied again).

    Top-level keys are ASCII and never escaped, so the object is its sorted members joined.
    """
    parts = [b"{"]
    for i, name in enumerate(sorted([*rest, "candidates"])):
        parts.append(b'%s"%s":' % (b"," if i else b"", name.encode("ascii")))
        parts.append(candidates if name == "candidates" else cjson.dumps(rest[name]))
    parts.append(b"}")
    return parts
