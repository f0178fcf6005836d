"""The offline verifier of draw-v1 §10: replays a transcript and reports every failure it finds."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from draw import cjson, columnar
from draw.allocations import owning_allocations
from draw.eligibility import evaluate_eligibility
from draw.engine import _derive_key, build_commit, select_from_lists
from draw.errors import Infeasible, InsufficientPool, InvalidInput
from draw.model import (
    SIGNATURE_KEYS,
    TRANSCRIPT_KEYS,
    VERSION,
    Candidate,
    Commit,
    DrawRequest,
    DrawResult,
    require_beacon,
    require_object,
    require_secret,
    require_witnesses,
)
from draw.signing import decode_b64, verify_json

MAX_REPORTED_CANDIDATES = 20
"""Malformed candidates reported one by one before the rest are summarised."""

T = TypeVar("T")


class Step(StrEnum):
    """The checks of draw-v1 §10, named in failure reports."""

    FORM = "form"  # §10.1: keys, version, order, forms of §2-§6
    SIGNATURE = "signature"  # §10.2: public key and the commit signature
    COMMIT = "commit"  # §10.3: §4-§5 recomputed equal `commit`
    RESULT = "result"  # §10.4: §6-§7 recomputed equal `result`
    SEALED = "sealed"  # §10.5: the rebuilt sealed record is what the sealed signature signs


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed check: which step, which field of the transcript, and what is wrong."""

    step: Step
    field: str
    message: str

    def __str__(self) -> str:
        """The `step: field: message` line the command line prints."""
        return f"{self.step.value}: {self.field}: {self.message}"


class _Report:
    """Collects failures while the verifier runs."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []

    def add(self, step: Step, field: str, message: str) -> None:
        """Record one failure."""
        self.failures.append(Failure(step, field, message))

    def parse(self, step: Step, field: str, parser: Callable[[], T]) -> T | None:
        """Run a validating parser; record its InvalidInput as a failure and return None."""
        try:
            return parser()
        except InvalidInput as error:
            self.add(step, error.field or field, error.reason)
            return None


def _base64_text(value: Any, length: int, path: str) -> str:
    """Return `value` when it is canonical base64 of `length` bytes, else raise InvalidInput."""
    decode_b64(value, length, path)
    return str(value)


def _is_canonical(value: Any) -> bool:
    """True when cjson can encode `value` (no floats, no huge integers)."""
    try:
        cjson.check(value)
    except InvalidInput:
        return False
    return True


def verify_transcript(transcript: Any, expected_public_key: str | None = None) -> list[Failure]:
    """Check a parsed transcript against §10 and return every failure found (empty = valid).

    Raises InvalidInput only when `transcript` is not a JSON object at all. Without
    `expected_public_key` the signatures prove integrity but not who signed.
    """
    return _verify(transcript, expected_public_key, None)


def verify_pool_transcript(
    document: dict[str, Any], pool: columnar.Pool, expected_public_key: str | None = None
) -> list[Failure]:
    """`verify_transcript` of what `columnar.load_with_pool(data, ascending=True)` read: the
    transcript without its candidates, and the candidates as validated columns.
    """
    return _verify(document, expected_public_key, pool)


@owning_allocations
def _verify(
    transcript: Any, expected_public_key: str | None, pool: columnar.Pool | None
) -> list[Failure]:
    """§10 on a parsed transcript, its candidates given as columns when `pool` is not None."""
    if type(transcript) is not dict:
        raise InvalidInput("transcript", "must be a JSON object")
    report = _Report()
    t = transcript

    # §10.1 form -------------------------------------------------------------------------
    for key in sorted(TRANSCRIPT_KEYS - t.keys()):
        report.add(Step.FORM, key, "missing")
    for key in sorted(k for k in t.keys() - TRANSCRIPT_KEYS):
        report.add(Step.FORM, str(key), "unexpected key")
    if "version" in t and t["version"] != VERSION:
        report.add(Step.FORM, "version", f"must be {VERSION!r}, got {t['version']!r}")
    request = (
        report.parse(Step.FORM, "request", lambda: DrawRequest.from_json(t["request"]))
        if "request" in t
        else None
    )
    candidates: tuple[Candidate, ...] | columnar.Pool | None = pool
    if pool is None and "candidates" in t:
        candidates = _parse_candidates(report, t["candidates"])
    secret = (
        report.parse(Step.FORM, "secret", lambda: require_secret(t["secret"]))
        if "secret" in t
        else None
    )
    commit = (
        report.parse(Step.FORM, "commit", lambda: Commit.from_json(t["commit"]))
        if "commit" in t
        else None
    )
    witnesses = (
        report.parse(Step.FORM, "witnesses", lambda: require_witnesses(t["witnesses"]))
        if "witnesses" in t
        else None
    )
    beacon_ok = False
    if "beacon" in t and commit is not None:
        beacon_ok = (
            report.parse(
                Step.FORM,
                "beacon",
                lambda: require_beacon(t["beacon"], commit.beacon_round) or True,
            )
            is not None
        )
    result = (
        report.parse(Step.FORM, "result", lambda: DrawResult.from_json(t["result"]))
        if "result" in t
        else None
    )
    public_key = (
        report.parse(
            Step.FORM, "public_key", lambda: _base64_text(t["public_key"], 32, "public_key")
        )
        if "public_key" in t
        else None
    )
    commit_sig = sealed_sig = None
    if "signatures" in t:
        sigs = report.parse(
            Step.FORM,
            "signatures",
            lambda: require_object(t["signatures"], SIGNATURE_KEYS, "signatures"),
        )
        if sigs is not None:
            commit_sig = report.parse(
                Step.FORM,
                "signatures.commit",
                lambda: _base64_text(sigs["commit"], 64, "signatures.commit"),
            )
            sealed_sig = report.parse(
                Step.FORM,
                "signatures.sealed",
                lambda: _base64_text(sigs["sealed"], 64, "signatures.sealed"),
            )

    # §10.2 signatures -------------------------------------------------------------------
    if expected_public_key is not None and t.get("public_key") != expected_public_key:
        report.add(Step.SIGNATURE, "public_key", "is not the expected public key")
    raw_commit = t.get("commit")
    if public_key is not None and commit_sig is not None and _is_canonical(raw_commit):
        if not verify_json(raw_commit, commit_sig, public_key):
            report.add(
                Step.SIGNATURE, "signatures.commit", "does not verify over commit under public_key"
            )
    else:
        report.add(
            Step.SIGNATURE,
            "signatures.commit",
            "not checked: public key, signature or commit malformed",
        )

    # §10.3 commitment -------------------------------------------------------------------
    eligibility: _Lists | None = None
    if request is not None and candidates is not None and secret is not None and commit is not None:
        eligibility = _check_commit(report, request, candidates, secret, commit, t["commit"])
    else:
        report.add(
            Step.COMMIT, "commit", "not recomputed: request, candidates, secret or commit malformed"
        )

    # §10.4 result -----------------------------------------------------------------------
    if (
        eligibility is not None
        and request is not None
        and secret is not None
        and commit is not None
        and witnesses is not None
        and beacon_ok
        and result is not None
    ):
        _check_result(
            report, request, eligibility, secret, t["commit"], witnesses, t["beacon"], result
        )
    else:
        report.add(Step.RESULT, "result", "not recomputed: an input it depends on is malformed")

    # §10.5 sealed record ----------------------------------------------------------------
    parts = [t.get("commit"), t.get("witnesses"), t.get("beacon"), t.get("secret"), t.get("result")]
    if (
        public_key is not None
        and sealed_sig is not None
        and all(k in t for k in ("commit", "witnesses", "beacon", "secret", "result"))
        and _is_canonical(parts)
    ):
        sealed = {
            "version": VERSION,
            "commit": t["commit"],
            "witnesses": t["witnesses"],
            "beacon": t["beacon"],
            "result_digest": cjson.digest(["draw-v1/result", t["secret"], t["result"]]),
        }
        if not verify_json(sealed, sealed_sig, public_key):
            report.add(
                Step.SEALED,
                "signatures.sealed",
                "does not sign the sealed record rebuilt from this transcript",
            )
    else:
        report.add(
            Step.SEALED,
            "signatures.sealed",
            "not checked: the sealed record cannot be rebuilt from malformed parts",
        )
    return report.failures


def _parse_candidates(report: _Report, raw: Any) -> tuple[Candidate, ...] | None:
    """Validate every candidate and the ascending id order; None when any is malformed."""
    if type(raw) is not list:
        report.add(Step.FORM, "candidates", "must be an array")
        return None
    parsed: list[Candidate] = []
    bad = 0
    for i, item in enumerate(raw):
        try:
            parsed.append(Candidate.from_json(item, f"candidates[{i}]"))
        except InvalidInput as error:
            bad += 1
            if bad <= MAX_REPORTED_CANDIDATES:
                report.add(Step.FORM, error.field, error.reason)
    if bad > MAX_REPORTED_CANDIDATES:
        report.add(
            Step.FORM, "candidates", f"{bad - MAX_REPORTED_CANDIDATES} more malformed candidates"
        )
    if bad:
        return None
    for i in range(1, len(parsed)):
        if not parsed[i - 1].id < parsed[i].id:
            problem = (
                "duplicate id" if parsed[i - 1].id == parsed[i].id else "not in ascending id order"
            )
            report.add(
                Step.FORM,
                f"candidates[{i}].id",
                f"{problem} ({parsed[i - 1].id!r} then {parsed[i].id!r})",
            )
            return None
    return tuple(parsed)


_Lists = tuple[Mapping[str, Sequence[str]], Mapping[str, str]]
"""Each group's eligible ids, and the eligible experts' employers."""


def _check_commit(
    report: _Report,
    request: DrawRequest,
    candidates: tuple[Candidate, ...] | columnar.Pool,
    secret: str,
    commit: Commit,
    raw_commit: dict[str, Any],
) -> _Lists | None:
    """§10.3: recompute §4-§5 and report each commit field that differs."""
    try:
        if isinstance(candidates, columnar.Pool):
            outcome = columnar.evaluate(request, candidates)
            lists: _Lists = (outcome.eligible, outcome.employers)
            recomputed = columnar.commit_for(
                request, outcome, secret, commit.committed_at, commit.beacon_round
            ).to_json()
        else:
            eligibility = evaluate_eligibility(request, candidates)
            lists = (eligibility.eligible, {c.id: c.employer for c in eligibility.candidates})
            recomputed = build_commit(
                request,
                (),
                secret,
                committed_at=commit.committed_at,
                beacon_round=commit.beacon_round,
                eligibility=eligibility,
            ).to_json()
    except InsufficientPool as error:
        report.add(Step.COMMIT, "request", f"insufficient_pool: {error.message}")
        return None
    for key, value in recomputed.items():
        if key == "eligible":
            given = raw_commit["eligible"]
            if len(given) != len(value):
                report.add(
                    Step.COMMIT,
                    "commit.eligible",
                    f"has {len(given)} groups, recomputed {len(value)}",
                )
                continue
            for i, (mine, theirs) in enumerate(zip(value, given, strict=True)):
                for name in ("group", "count", "digest"):
                    if mine[name] != theirs[name]:
                        report.add(
                            Step.COMMIT,
                            f"commit.eligible[{i}].{name}",
                            f"recomputed {mine[name]!r}, transcript has {theirs[name]!r}",
                        )
        elif raw_commit[key] != value:
            report.add(
                Step.COMMIT,
                f"commit.{key}",
                f"recomputed {value!r}, transcript has {raw_commit[key]!r}",
            )
    return lists


def _check_result(
    report: _Report,
    request: DrawRequest,
    eligibility: _Lists,
    secret: str,
    raw_commit: dict[str, Any],
    witnesses: tuple[str, ...],
    beacon: str | None,
    result: DrawResult,
) -> None:
    """§10.4: replay §6-§7 with the transcript's commit and report every difference."""
    key = _derive_key(secret, cjson.digest(raw_commit), witnesses, beacon)
    try:
        replayed = select_from_lists(request, *eligibility, key)
    except Infeasible as error:
        report.add(Step.RESULT, "result", f"the replay is infeasible: {error.message}")
        return
    if replayed.attempt != result.attempt:
        report.add(
            Step.RESULT,
            "result.attempt",
            f"replay accepts attempt {replayed.attempt}, transcript has {result.attempt}",
        )
    if len(replayed.groups) != len(result.groups):
        report.add(
            Step.RESULT,
            "result.groups",
            f"has {len(result.groups)} groups, the request has {len(replayed.groups)}",
        )
        return
    for i, (mine, theirs) in enumerate(zip(replayed.groups, result.groups, strict=True)):
        for name in ("group", "primaries", "backups"):
            if getattr(mine, name) != getattr(theirs, name):
                report.add(
                    Step.RESULT,
                    f"result.groups[{i}].{name}",
                    f"replay gives {_show(getattr(mine, name))}, transcript has "
                    f"{_show(getattr(theirs, name))}",
                )


def _show(value: object) -> str:
    """Render a value compactly for a failure line."""
    if isinstance(value, tuple):
        return "[" + ", ".join(value) + "]"
    return repr(value)


def verify_sealed(
    sealed: Any,
    public_key: str,
    commit_signature: str,
    sealed_signature: str,
    *,
    secret: str | None = None,
    result: Any = None,
) -> list[Failure]:
    """What a supervisor can check with the sealed record alone (§10, last paragraph).

    Both signatures; and, after opening (`secret` and `result` given), that the secret
    matches the commitment and the released result matches `result_digest`.
    """
    report = _Report()
    if type(sealed) is not dict or sealed.keys() != {
        "version",
        "commit",
        "witnesses",
        "beacon",
        "result_digest",
    }:
        report.add(
            Step.FORM,
            "sealed",
            "must be an object with version, commit, witnesses, beacon, result_digest",
        )
        return report.failures
    if sealed["version"] != VERSION:
        report.add(Step.FORM, "sealed.version", f"must be {VERSION!r}")
    commit = report.parse(
        Step.FORM, "sealed.commit", lambda: Commit.from_json(sealed["commit"], "sealed.commit")
    )
    report.parse(
        Step.FORM,
        "sealed.witnesses",
        lambda: require_witnesses(sealed["witnesses"], "sealed.witnesses"),
    )
    if commit is not None:
        report.parse(
            Step.FORM,
            "sealed.beacon",
            lambda: require_beacon(sealed["beacon"], commit.beacon_round, "sealed.beacon"),
        )
    if not _is_canonical(sealed) or not verify_json(sealed["commit"], commit_signature, public_key):
        report.add(
            Step.SIGNATURE, "signatures.commit", "does not verify over the commit under public_key"
        )
    if not _is_canonical(sealed) or not verify_json(sealed, sealed_signature, public_key):
        report.add(
            Step.SEALED,
            "signatures.sealed",
            "does not verify over the sealed record under public_key",
        )
    if secret is not None and commit is not None:
        if cjson.digest(["draw-v1/secret", commit.draw_id, secret]) != commit.secret_digest:
            report.add(Step.COMMIT, "secret", "does not match commit.secret_digest")
        if (
            not _is_canonical(result)
            or cjson.digest(["draw-v1/result", secret, result]) != sealed["result_digest"]
        ):
            report.add(
                Step.SEALED, "result_digest", "the released result does not match result_digest"
            )
    return report.failures
