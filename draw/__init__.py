"""Verifiable expert draw (docs/draw-v1.md): a pure engine and its offline verifier.

Two phases, as the application uses them:

1. `prepare_commit(request, candidates, secret, signer, committed_at=...)` before any witness
   types; store the commit, its signature and the secret (from `generate_secret()`), and
   show `prepared.digest` at the terminal.
2. After the witnesses: `select(...)` gives the `DrawResult`; `build_sealed(...)` and
   `sign_sealed(...)` give the sealed record to publish; `build_transcript(...)` the record
   released to auditors after opening. `verify_transcript(...)` replays one.
"""

from draw.cjson import digest as canonical_digest
from draw.cjson import dumps as canonical_json
from draw.cjson import loads as load_json
from draw.eligibility import Eligibility, Exclusion, Reason, check_pool, evaluate_eligibility
from draw.engine import (
    PreparedCommit,
    build_commit,
    build_sealed,
    build_transcript,
    derive_key,
    generate_secret,
    order,
    prepare_commit,
    rank,
    result_digest,
    run_draw,
    select,
    sign_sealed,
)
from draw.errors import DrawError, Infeasible, InsufficientPool, InvalidInput, NotCanonical
from draw.explain import Explanation, explain_transcript
from draw.model import (
    VERSION,
    Candidate,
    Commit,
    DrawRequest,
    DrawResult,
    Group,
    GroupCommit,
    GroupResult,
    SealedRecord,
    Transcript,
    candidates_from_json,
    employers_of,
)
from draw.replacement import Replacement, Skip, SkipReason, next_invitee, redraw_exclusions
from draw.signing import Signer, key_from_seed_hex, public_key_b64, sign_json, verify_json
from draw.verify import Failure, Step, verify_sealed, verify_transcript

__all__ = [
    "VERSION",
    "Candidate",
    "Commit",
    "DrawError",
    "DrawRequest",
    "DrawResult",
    "Eligibility",
    "Exclusion",
    "Explanation",
    "Failure",
    "Group",
    "GroupCommit",
    "GroupResult",
    "Infeasible",
    "InsufficientPool",
    "InvalidInput",
    "NotCanonical",
    "PreparedCommit",
    "Reason",
    "Replacement",
    "SealedRecord",
    "Signer",
    "Skip",
    "SkipReason",
    "Step",
    "Transcript",
    "build_commit",
    "build_sealed",
    "build_transcript",
    "candidates_from_json",
    "canonical_digest",
    "canonical_json",
    "check_pool",
    "derive_key",
    "employers_of",
    "evaluate_eligibility",
    "explain_transcript",
    "generate_secret",
    "key_from_seed_hex",
    "load_json",
    "next_invitee",
    "order",
    "prepare_commit",
    "public_key_b64",
    "rank",
    "redraw_exclusions",
    "result_digest",
    "run_draw",
    "select",
    "sign_json",
    "sign_sealed",
    "verify_json",
    "verify_sealed",
    "verify_transcript",
]
