"""Command line: `python -m draw run | verify | explain` (exit codes documented in docs/draw.md)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from draw import cjson, columnar
from draw.engine import run_draw
from draw.errors import DrawError, Infeasible, InsufficientPool, InvalidInput
from draw.explain import explain_transcript, render
from draw.model import (
    DrawRequest,
    candidates_from_json,
    require_beacon,
    require_beacon_round,
    require_object,
    require_secret,
    require_timestamp,
    require_witnesses,
)
from draw.signing import decode_b64, key_from_seed_hex
from draw.verify import verify_pool_transcript, verify_transcript

EXIT_OK = 0
EXIT_FAILED = 1  # verify/explain: the transcript does not verify
EXIT_BAD_INPUT = 2  # unreadable file, malformed JSON, duplicate keys, invalid input, bad key
EXIT_INSUFFICIENT_POOL = 3
EXIT_INFEASIBLE = 4
EXIT_INTERNAL = 70

RUN_KEYS = frozenset(
    {"request", "candidates", "secret", "witnesses", "beacon_round", "beacon", "committed_at"}
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors on one line with exit code 2."""

    def error(self, message: str) -> Any:
        """Print a one-line usage error and exit 2."""
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _read(path: str) -> bytes:
    """Read a file, turning OS errors into InvalidInput."""
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise InvalidInput(path, f"cannot read file ({error.strerror or error})") from None


def _load(path: str) -> Any:
    """Read and strictly parse a JSON file."""
    return _parse(_read(path), path)


def _parse(data: bytes, path: str) -> Any:
    """Strictly parse a file's bytes, naming the file in errors."""
    try:
        return cjson.loads(data)
    except InvalidInput as error:
        raise InvalidInput(path, error.reason) from None


def _cmd_run(args: argparse.Namespace) -> int:
    """Run a whole draw from an input file and print the transcript as canonical JSON.

    Large pools go through the columnar path (draw.columnar), which writes the same bytes;
    anything it does not take (malformed, non-compact or duplicate-keyed input) is read by
    the straightforward path below, whose errors are the documented ones.
    """
    raw = _read(args.input)
    loaded = columnar.load_with_pool(raw, ascending=False)
    if loaded is not None:
        del raw  # the columns hold what is needed; free the file's bytes
        data = require_object(loaded[0], RUN_KEYS, "input")
    else:
        data = require_object(_parse(raw, args.input), RUN_KEYS, "input")
        del raw
    signer = key_from_seed_hex(_read(args.signing_key).decode("ascii", "replace"), "signing key")
    request = DrawRequest.from_json(data["request"])
    beacon_round = require_beacon_round(data["beacon_round"])
    secret = require_secret(data["secret"])
    witnesses = require_witnesses(data["witnesses"])
    committed_at = require_timestamp(data["committed_at"])
    beacon = require_beacon(data["beacon"], beacon_round)
    if loaded is not None:
        parts = columnar.run_draw(
            request,
            loaded[1],
            secret,
            witnesses,
            signer,
            committed_at=committed_at,
            beacon_round=beacon_round,
            beacon=beacon,
        )
    else:
        transcript = run_draw(
            request,
            candidates_from_json(data["candidates"]),
            secret,
            witnesses,
            signer,
            committed_at=committed_at,
            beacon_round=beacon_round,
            beacon=beacon,
        )
        parts = [cjson.dumps(transcript.to_json())]
    sys.stdout.buffer.writelines(parts)
    sys.stdout.buffer.flush()
    return EXIT_OK


def _expected_key(text: str | None) -> str | None:
    """Validate the --public-key option."""
    if text is not None:
        decode_b64(text, 32, "--public-key")
    return text


def _cmd_verify(args: argparse.Namespace) -> int:
    """Verify one transcript; print OK or one failure per line."""
    expected = _expected_key(args.public_key)
    raw = _read(args.transcript)
    loaded = columnar.load_with_pool(raw, ascending=True)
    if loaded is not None:
        del raw
        failures = verify_pool_transcript(*loaded, expected)
    else:
        failures = verify_transcript(_parse(raw, args.transcript), expected)
    if failures:
        for failure in failures:
            print(failure)
        return EXIT_FAILED
    print("OK")
    if expected is None:
        print("signer unauthenticated: no --public-key was given, so anyone could have signed this")
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    """Explain one transcript in words."""
    explanation = explain_transcript(_load(args.transcript))
    print(render(explanation, args.lang))
    return EXIT_OK if explanation.verifies else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m draw`."""
    parser = _Parser(prog="python -m draw", description="Verifiable expert draw (draw-v1).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="run a draw and print its transcript")
    run.add_argument("input", metavar="INPUT.json")
    run.add_argument(
        "--signing-key", required=True, metavar="KEYFILE", help="64 hex digits: the Ed25519 seed"
    )
    run.set_defaults(handler=_cmd_run)
    verify = commands.add_parser("verify", help="check a transcript (draw-v1 §10)")
    verify.add_argument("transcript", metavar="TRANSCRIPT.json")
    verify.add_argument("--public-key", metavar="BASE64", help="the signer's expected public key")
    verify.set_defaults(handler=_cmd_verify)
    explain = commands.add_parser("explain", help="explain a transcript in words")
    explain.add_argument("transcript", metavar="TRANSCRIPT.json")
    explain.add_argument("--lang", choices=("zh", "en"), default="en")
    explain.set_defaults(handler=_cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse arguments, run the command, map errors to one line and an exit code."""
    args = build_parser().parse_args(argv)
    # A one-shot process building millions of acyclic objects: the cyclic collector would
    # rescan them repeatedly for nothing (see docs/benchmarks.md).
    gc.disable()
    try:
        code: int = args.handler(args)
        return code
    except InsufficientPool as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return EXIT_INSUFFICIENT_POOL
    except Infeasible as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return EXIT_INFEASIBLE
    except DrawError as error:
        print(f"{error.code}: {error.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # the promise is: never a traceback
        print(f"internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        gc.enable()
