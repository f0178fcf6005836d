"""Immutable, validated inputs and outputs of a draw (draw-v1 §3, §5, §7, §8)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from draw import cjson
from draw.allocations import owning_allocations
from draw.errors import InvalidInput

VERSION = "draw-v1"
"""The only protocol version this package speaks."""

MAX_ATTEMPTS = 1000
"""Attempts t = 0 .. 999 (draw-v1 §7)."""

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_WITNESS = re.compile(r"[0-9]{6,64}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")

REQUEST_KEYS = frozenset(
    {
        "draw_id",
        "project_code",
        "evaluation_date",
        "bidder_orgs",
        "tenderer_orgs",
        "agency_orgs",
        "excluded_experts",
        "max_recent_draws",
        "distinct_employers",
        "groups",
    }
)
GROUP_KEYS = frozenset({"id", "specialties", "regions_in", "regions_out", "count", "backups"})
CANDIDATE_KEYS = frozenset(
    {"id", "status", "available", "specialties", "region", "employer", "avoid_orgs", "recent_draws"}
)
COMMIT_KEYS = frozenset(
    {
        "version",
        "draw_id",
        "request_digest",
        "pool_digest",
        "excluded_digest",
        "eligible",
        "secret_digest",
        "beacon_round",
        "committed_at",
    }
)
COMMIT_GROUP_KEYS = frozenset({"group", "count", "digest"})
RESULT_KEYS = frozenset({"attempt", "groups"})
RESULT_GROUP_KEYS = frozenset({"group", "primaries", "backups"})
SEALED_KEYS = frozenset({"version", "commit", "witnesses", "beacon", "result_digest"})
TRANSCRIPT_KEYS = frozenset(
    {
        "version",
        "request",
        "candidates",
        "secret",
        "commit",
        "witnesses",
        "beacon",
        "result",
        "public_key",
        "signatures",
    }
)
SIGNATURE_KEYS = frozenset({"commit", "sealed"})


# --- field validators -------------------------------------------------------------------------


def require_object(value: Any, keys: frozenset[str], path: str) -> dict[str, Any]:
    """Return `value` if it is an object with exactly `keys`, else raise InvalidInput."""
    if type(value) is not dict:
        raise InvalidInput(path, "must be an object")
    if value.keys() != keys:
        missing = sorted(keys - value.keys())
        extra = sorted(value.keys() - keys)
        parts = []
        if missing:
            parts.append("missing key(s) " + ", ".join(missing))
        if extra:
            parts.append("unexpected key(s) " + ", ".join(str(k) for k in extra))
        raise InvalidInput(path, "; ".join(parts))
    return value


def require_identifier(value: Any, path: str) -> str:
    """Return `value` if it is an identifier of draw-v1 §2, else raise InvalidInput."""
    if type(value) is not str:
        raise InvalidInput(path, f"must be an identifier string, not {_kind(value)}")
    if _IDENTIFIER.fullmatch(value) is None:
        raise InvalidInput(path, f"identifier {value!r} is out of form")
    return value


def require_identifiers(value: Any, path: str) -> tuple[str, ...]:
    """Return `value` as a tuple if it is an array of identifiers, else raise InvalidInput."""
    if type(value) is not list and type(value) is not tuple:
        raise InvalidInput(path, f"must be an array, not {_kind(value)}")
    fullmatch = _IDENTIFIER.fullmatch
    for item in value:
        if type(item) is not str or fullmatch(item) is None:
            # Slow path only to name the offending element.
            for i, element in enumerate(value):
                require_identifier(element, f"{path}[{i}]")
    return tuple(value)


def require_int(value: Any, path: str, minimum: int, maximum: int = cjson.MAX_SAFE - 1) -> int:
    """Return `value` if it is an integer (not a boolean) in [minimum, maximum]."""
    if type(value) is not int:
        raise InvalidInput(path, f"must be an integer, not {_kind(value)}")
    if value < minimum or value > maximum:
        raise InvalidInput(path, f"must be between {minimum} and {maximum}, got {value}")
    return value


def require_bool(value: Any, path: str) -> bool:
    """Return `value` if it is a boolean."""
    if type(value) is not bool:
        raise InvalidInput(path, f"must be true or false, not {_kind(value)}")
    return value


def require_text(value: Any, path: str, *, non_empty: bool) -> str:
    """Return `value` if it is a (non-empty, when asked) valid Unicode string."""
    if type(value) is not str:
        raise InvalidInput(path, f"must be a string, not {_kind(value)}")
    if non_empty and not value:
        raise InvalidInput(path, "must not be empty")
    cjson.check(value, path)
    return value


def require_hex64(value: Any, path: str) -> str:
    """Return `value` if it is 64 lowercase hex digits."""
    if type(value) is not str or _HEX64.fullmatch(value) is None:
        raise InvalidInput(path, "must be 64 lowercase hex digits")
    return value


def require_secret(value: Any, path: str = "secret") -> str:
    """Return the secret if it is 64 lowercase hex digits (32 bytes)."""
    return require_hex64(value, path)


def require_witnesses(value: Any, path: str = "witnesses") -> tuple[str, ...]:
    """Return the witnesses if they form a non-empty array of 6-64 ASCII digit strings."""
    if type(value) is not list:
        raise InvalidInput(path, f"must be an array, not {_kind(value)}")
    if not value:
        raise InvalidInput(path, "at least one witness entry is required")
    for i, item in enumerate(value):
        if type(item) is not str or _WITNESS.fullmatch(item) is None:
            raise InvalidInput(f"{path}[{i}]", "a witness entry must be 6 to 64 ASCII digits")
    return tuple(value)


def require_beacon_round(value: Any, path: str = "beacon_round") -> str | None:
    """Return the beacon round if it is null or a non-empty string."""
    if value is None:
        return None
    return require_text(value, path, non_empty=True)


def require_beacon(value: Any, beacon_round: str | None, path: str = "beacon") -> str | None:
    """Return the beacon: a non-empty string when a round was committed, else null."""
    if beacon_round is None:
        if value is not None:
            raise InvalidInput(path, "a beacon was given but no beacon round was committed")
        return None
    if value is None:
        raise InvalidInput(
            path, f"the committed beacon round {beacon_round!r} needs its beacon value"
        )
    return require_text(value, path, non_empty=True)


def require_timestamp(value: Any, path: str = "committed_at") -> str:
    """Return `value` if it is a real UTC time written YYYY-MM-DDTHH:MM:SSZ."""
    if type(value) is not str or _TIMESTAMP.fullmatch(value) is None:
        raise InvalidInput(path, "must be written YYYY-MM-DDTHH:MM:SSZ")
    try:
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise InvalidInput(path, f"{value!r} is not a real time") from None
    return value


def format_timestamp(moment: datetime) -> str:
    """Write a timezone-aware time as YYYY-MM-DDTHH:MM:SSZ in UTC (seconds truncated)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("committed_at", "must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Read a YYYY-MM-DDTHH:MM:SSZ time as a timezone-aware UTC datetime."""
    require_timestamp(text)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _require_date(value: Any, path: str) -> str:
    """Return `value` if it is a real calendar date written YYYY-MM-DD."""
    if type(value) is not str or _DATE.fullmatch(value) is None:
        raise InvalidInput(path, "must be written YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(path, f"{value!r} is not a real date") from None
    return value


def _kind(value: Any) -> str:
    """Name the JSON kind of a value for error messages."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "a boolean"
    if type(value) is float:
        return "a float (floats are not allowed)"
    if type(value) is int:
        return "an integer"
    if type(value) is str:
        return "a string"
    if type(value) is list:
        return "an array"
    if type(value) is dict:
        return "an object"
    return type(value).__name__


# --- inputs -----------------------------------------------------------------------------------


def _set(obj: object, name: str, value: object) -> None:
    """Normalise a field of a frozen dataclass during validation."""
    object.__setattr__(obj, name, value)


def _with_path(path: str, error: InvalidInput) -> InvalidInput:
    """Prefix an error raised while validating an object with the object's path."""
    return InvalidInput(f"{path}.{error.field}" if error.field else path, error.reason)


@dataclass(frozen=True, slots=True)
class Group:
    """A group of seats: matching specialties and regions, primaries and backups.

    Constructing one validates it (InvalidInput); arrays are stored as tuples.
    """

    id: str
    specialties: tuple[str, ...]
    regions_in: tuple[str, ...]
    regions_out: tuple[str, ...]
    count: int
    backups: int

    def __post_init__(self) -> None:
        """Validate every field against draw-v1 §3."""
        require_identifier(self.id, "id")
        _set(self, "specialties", require_identifiers(self.specialties, "specialties"))
        if not self.specialties:
            raise InvalidInput("specialties", "at least one specialty prefix is required")
        _set(self, "regions_in", require_identifiers(self.regions_in, "regions_in"))
        _set(self, "regions_out", require_identifiers(self.regions_out, "regions_out"))
        require_int(self.count, "count", 1)
        require_int(self.backups, "backups", 0)

    @classmethod
    def from_json(cls, value: Any, path: str = "group") -> Group:
        """Validate a group object of draw-v1 §3."""
        obj = require_object(value, GROUP_KEYS, path)
        try:
            return cls(**obj)
        except InvalidInput as error:
            raise _with_path(path, error) from None

    def to_json(self) -> dict[str, Any]:
        """Return the group as its JSON object."""
        return {
            "id": self.id,
            "specialties": list(self.specialties),
            "regions_in": list(self.regions_in),
            "regions_out": list(self.regions_out),
            "count": self.count,
            "backups": self.backups,
        }


@dataclass(frozen=True, slots=True)
class DrawRequest:
    """What the panel is for and the rules its experts must satisfy.

    Constructing one validates it (InvalidInput); arrays are stored as tuples.
    """

    draw_id: str
    project_code: str
    evaluation_date: str
    bidder_orgs: tuple[str, ...]
    tenderer_orgs: tuple[str, ...]
    agency_orgs: tuple[str, ...]
    excluded_experts: tuple[str, ...]
    max_recent_draws: int | None
    distinct_employers: bool
    groups: tuple[Group, ...]

    def __post_init__(self) -> None:
        """Validate every field against draw-v1 §3."""
        require_identifier(self.draw_id, "draw_id")
        require_text(self.project_code, "project_code", non_empty=True)
        _require_date(self.evaluation_date, "evaluation_date")
        for name in ("bidder_orgs", "tenderer_orgs", "agency_orgs", "excluded_experts"):
            _set(self, name, require_identifiers(getattr(self, name), name))
        if self.max_recent_draws is not None:
            require_int(self.max_recent_draws, "max_recent_draws", 0)
        require_bool(self.distinct_employers, "distinct_employers")
        groups: Any = self.groups
        if type(groups) is not list and type(groups) is not tuple:
            raise InvalidInput("groups", f"must be an array, not {_kind(groups)}")
        if not groups:
            raise InvalidInput("groups", "at least one group is required")
        seen: set[str] = set()
        for i, group in enumerate(groups):
            if not isinstance(group, Group):
                raise InvalidInput(f"groups[{i}]", "must be a Group")
            if group.id in seen:
                raise InvalidInput(f"groups[{i}].id", f"duplicate group id {group.id!r}")
            seen.add(group.id)
        _set(self, "groups", tuple(groups))

    @classmethod
    def from_json(cls, value: Any, path: str = "request") -> DrawRequest:
        """Validate a request object of draw-v1 §3."""
        obj = require_object(value, REQUEST_KEYS, path)
        raw_groups = obj["groups"]
        if type(raw_groups) is not list:
            raise InvalidInput(f"{path}.groups", f"must be an array, not {_kind(raw_groups)}")
        groups = tuple(Group.from_json(g, f"{path}.groups[{i}]") for i, g in enumerate(raw_groups))
        try:
            return cls(**{**obj, "groups": groups})
        except InvalidInput as error:
            raise _with_path(path, error) from None

    def to_json(self) -> dict[str, Any]:
        """Return the request as its JSON object."""
        return {
            "draw_id": self.draw_id,
            "project_code": self.project_code,
            "evaluation_date": self.evaluation_date,
            "bidder_orgs": list(self.bidder_orgs),
            "tenderer_orgs": list(self.tenderer_orgs),
            "agency_orgs": list(self.agency_orgs),
            "excluded_experts": list(self.excluded_experts),
            "max_recent_draws": self.max_recent_draws,
            "distinct_employers": self.distinct_employers,
            "groups": [g.to_json() for g in self.groups],
        }

    def group(self, group_id: str) -> Group:
        """Return the group with this id, or raise InvalidInput."""
        for group in self.groups:
            if group.id == group_id:
                return group
        raise InvalidInput("group", f"no group {group_id!r} in draw {self.draw_id}")


@dataclass(frozen=True, slots=True)
class Candidate:
    """One expert of the pool snapshot, as the draw sees them.

    Constructing one validates it (InvalidInput); arrays are stored as tuples.
    """

    id: str
    status: str
    available: bool
    specialties: tuple[str, ...]
    region: str
    employer: str
    avoid_orgs: tuple[str, ...]
    recent_draws: int

    def __post_init__(self) -> None:
        """Validate every field against draw-v1 §3."""
        require_identifier(self.id, "id")
        if self.status != "active":
            require_text(self.status, "status", non_empty=False)
        require_bool(self.available, "available")
        _set(self, "specialties", require_identifiers(self.specialties, "specialties"))
        require_identifier(self.region, "region")
        if self.employer != "" or type(self.employer) is not str:
            require_identifier(self.employer, "employer")
        _set(self, "avoid_orgs", require_identifiers(self.avoid_orgs, "avoid_orgs"))
        require_int(self.recent_draws, "recent_draws", 0)

    @classmethod
    def from_json(cls, value: Any, path: str = "candidate") -> Candidate:
        """Validate a candidate object of draw-v1 §3."""
        obj = require_object(value, CANDIDATE_KEYS, path)
        try:
            return cls(**obj)
        except InvalidInput as error:
            raise _with_path(path, error) from None

    def canonical_view(self) -> dict[str, Any]:
        """The candidate as a mapping that cjson encodes exactly like `to_json()` (arrays as
        tuples).

        Cheaper than `to_json()` on large pools, since no lists are built.
        """
        return {
            "available": self.available,
            "avoid_orgs": self.avoid_orgs,
            "employer": self.employer,
            "id": self.id,
            "recent_draws": self.recent_draws,
            "region": self.region,
            "specialties": self.specialties,
            "status": self.status,
        }

    def to_json(self) -> dict[str, Any]:
        """Return the candidate as its JSON object."""
        return {
            "id": self.id,
            "status": self.status,
            "available": self.available,
            "specialties": list(self.specialties),
            "region": self.region,
            "employer": self.employer,
            "avoid_orgs": list(self.avoid_orgs),
            "recent_draws": self.recent_draws,
        }


@owning_allocations
def candidates_from_json(value: Any, path: str = "candidates") -> tuple[Candidate, ...]:
    """Validate an array of candidates with distinct ids (any order)."""
    if type(value) is not list:
        raise InvalidInput(path, f"must be an array, not {_kind(value)}")
    from_json = Candidate.from_json
    candidates = tuple(from_json(c, f"{path}[{i}]") for i, c in enumerate(value))
    check_distinct_ids(candidates, path)
    return candidates


def check_distinct_ids(candidates: Sequence[Candidate], path: str = "candidates") -> None:
    """Raise InvalidInput when two candidates share an id."""
    if len({c.id for c in candidates}) != len(candidates):
        seen: set[str] = set()
        for i, candidate in enumerate(candidates):
            if candidate.id in seen:
                raise InvalidInput(f"{path}[{i}].id", f"duplicate candidate id {candidate.id!r}")
            seen.add(candidate.id)


# --- commitment, result, sealed record, transcript -------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupCommit:
    """How many experts a group has eligible and the digest of their ids."""

    group: str
    count: int
    digest: str

    def to_json(self) -> dict[str, Any]:
        """Return the entry as its JSON object."""
        return {"group": self.group, "count": self.count, "digest": self.digest}


@dataclass(frozen=True, slots=True)
class Commit:
    """The commitment of draw-v1 §5, fixed before any witness entropy."""

    draw_id: str
    request_digest: str
    pool_digest: str
    excluded_digest: str
    eligible: tuple[GroupCommit, ...]
    secret_digest: str
    beacon_round: str | None
    committed_at: str
    version: str = VERSION

    @classmethod
    def from_json(cls, value: Any, path: str = "commit") -> Commit:
        """Validate a commit object of draw-v1 §5."""
        obj = require_object(value, COMMIT_KEYS, path)
        if obj["version"] != VERSION:
            raise InvalidInput(f"{path}.version", f"must be {VERSION!r}")
        raw = obj["eligible"]
        if type(raw) is not list or not raw:
            raise InvalidInput(f"{path}.eligible", "must be a non-empty array")
        eligible = []
        for i, item in enumerate(raw):
            where = f"{path}.eligible[{i}]"
            entry = require_object(item, COMMIT_GROUP_KEYS, where)
            eligible.append(
                GroupCommit(
                    group=require_identifier(entry["group"], f"{where}.group"),
                    count=require_int(entry["count"], f"{where}.count", 0),
                    digest=require_hex64(entry["digest"], f"{where}.digest"),
                )
            )
        return cls(
            draw_id=require_identifier(obj["draw_id"], f"{path}.draw_id"),
            request_digest=require_hex64(obj["request_digest"], f"{path}.request_digest"),
            pool_digest=require_hex64(obj["pool_digest"], f"{path}.pool_digest"),
            excluded_digest=require_hex64(obj["excluded_digest"], f"{path}.excluded_digest"),
            eligible=tuple(eligible),
            secret_digest=require_hex64(obj["secret_digest"], f"{path}.secret_digest"),
            beacon_round=require_beacon_round(obj["beacon_round"], f"{path}.beacon_round"),
            committed_at=require_timestamp(obj["committed_at"], f"{path}.committed_at"),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the commitment as its JSON object."""
        return {
            "version": self.version,
            "draw_id": self.draw_id,
            "request_digest": self.request_digest,
            "pool_digest": self.pool_digest,
            "excluded_digest": self.excluded_digest,
            "eligible": [e.to_json() for e in self.eligible],
            "secret_digest": self.secret_digest,
            "beacon_round": self.beacon_round,
            "committed_at": self.committed_at,
        }

    @property
    def digest(self) -> str:
        """H(commit): the fingerprint shown at the terminal before witnesses type."""
        return cjson.digest(self.to_json())


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One group's primaries and backups, in rank order."""

    group: str
    primaries: tuple[str, ...]
    backups: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Return the group result as its JSON object."""
        return {
            "group": self.group,
            "primaries": list(self.primaries),
            "backups": list(self.backups),
        }


@dataclass(frozen=True, slots=True)
class DrawResult:
    """The panel: the accepted attempt and each group's primaries and backups."""

    attempt: int
    groups: tuple[GroupResult, ...]

    @classmethod
    def from_json(cls, value: Any, path: str = "result") -> DrawResult:
        """Validate a result object of draw-v1 §7."""
        obj = require_object(value, RESULT_KEYS, path)
        raw = obj["groups"]
        if type(raw) is not list or not raw:
            raise InvalidInput(f"{path}.groups", "must be a non-empty array")
        groups = []
        for i, item in enumerate(raw):
            where = f"{path}.groups[{i}]"
            entry = require_object(item, RESULT_GROUP_KEYS, where)
            groups.append(
                GroupResult(
                    group=require_identifier(entry["group"], f"{where}.group"),
                    primaries=require_identifiers(entry["primaries"], f"{where}.primaries"),
                    backups=require_identifiers(entry["backups"], f"{where}.backups"),
                )
            )
        return cls(
            attempt=require_int(obj["attempt"], f"{path}.attempt", 0, MAX_ATTEMPTS - 1),
            groups=tuple(groups),
        )

    def to_json(self) -> dict[str, Any]:
        """Return the result as its JSON object."""
        return {"attempt": self.attempt, "groups": [g.to_json() for g in self.groups]}

    def group(self, group_id: str) -> GroupResult:
        """Return this group's result, or raise InvalidInput."""
        for group in self.groups:
            if group.group == group_id:
                return group
        raise InvalidInput("group", f"no group {group_id!r} in this result")

    @property
    def primaries(self) -> frozenset[str]:
        """Every primary of every group."""
        return frozenset(e for g in self.groups for e in g.primaries)


@dataclass(frozen=True, slots=True)
class SealedRecord:
    """The sealed record of draw-v1 §8: published at draw time, hides the names."""

    commit: Commit
    witnesses: tuple[str, ...]
    beacon: str | None
    result_digest: str
    version: str = VERSION

    def to_json(self) -> dict[str, Any]:
        """Return the sealed record as its JSON object."""
        return {
            "version": self.version,
            "commit": self.commit.to_json(),
            "witnesses": list(self.witnesses),
            "beacon": self.beacon,
            "result_digest": self.result_digest,
        }


@dataclass(frozen=True, slots=True)
class Transcript:
    """Everything an auditor needs to replay and check a draw (draw-v1 §8)."""

    request: DrawRequest
    candidates: tuple[Candidate, ...]
    secret: str
    commit: Commit
    witnesses: tuple[str, ...]
    beacon: str | None
    result: DrawResult
    public_key: str
    commit_signature: str
    sealed_signature: str
    version: str = VERSION

    @owning_allocations
    def to_json(self) -> dict[str, Any]:
        """Return the transcript as its JSON object (candidates in ascending id order)."""
        return {
            "version": self.version,
            "request": self.request.to_json(),
            "candidates": [c.to_json() for c in sorted(self.candidates, key=_by_id)],
            "secret": self.secret,
            "commit": self.commit.to_json(),
            "witnesses": list(self.witnesses),
            "beacon": self.beacon,
            "result": self.result.to_json(),
            "public_key": self.public_key,
            "signatures": {"commit": self.commit_signature, "sealed": self.sealed_signature},
        }


def _by_id(candidate: Candidate) -> str:
    """Sort key: the candidate id (ASCII, so code point order is byte order)."""
    return candidate.id


def employers_of(candidates: Sequence[Candidate]) -> Mapping[str, str]:
    """Map each candidate id to its employer ("" when none)."""
    return {c.id: c.employer for c in candidates}
