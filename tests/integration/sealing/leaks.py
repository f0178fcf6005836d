"""Reusable helpers of the attacker suite: leak markers and checks, the route walker, the raw scan.

- `Marker` / `markers_of(probes)`: what would reveal a probe expert (id as text, name, phone in
  several forms) and `link_markers(tokens)` for one-time answer links.
- `find_leaks(text, markers)` / `assert_no_leak(text, markers, where)`: search any text.
- `walk(clients, urls)` and `get_urls(app, values)`: every GET route with its path parameters
  filled from real ids, requested by every role client.
- `scan_database(engine)` / `changed_cells(before, after)`: every cell of every table, for a
  differential scan of what a draw wrote.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import re
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

# Markers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Marker:
    """One unmistakable piece of text that identifies one probe expert (or one answer link)."""

    owner: int  # the probe expert's id (0 for markers owned by nobody in particular)
    kind: str  # "id", "name", "phone", "masked phone", "link", ...
    value: str
    pattern: re.Pattern[str]

    def __str__(self) -> str:
        return f"{self.kind} {self.value!r} of expert {self.owner}"


def literal(owner: int, kind: str, value: str) -> Marker:
    """A marker found as a plain substring."""
    return Marker(owner, kind, value, re.compile(re.escape(value)))


def number(owner: int, kind: str, value: int | str) -> Marker:
    """A marker found as a whole decimal number (not inside a longer run of digits)."""
    v = str(value)
    return Marker(owner, kind, v, re.compile(rf"(?<![0-9]){re.escape(v)}(?![0-9])"))


@dataclass(frozen=True)
class Probe:
    """A probe expert: an id of 10^9 or more, a unique name and a unique mobile number."""

    n: int
    id: int
    name: str
    national: str  # 13712340001
    region: str
    employer: str
    username: str
    user_id: int | None = None

    @property
    def e164(self) -> str:
        """The phone as the provider sees it."""
        return "+86" + self.national

    def markers(self) -> list[Marker]:
        """Everything that would reveal this expert."""
        from notify.base import mask_phone

        n = self.national
        return [
            number(self.id, "id", self.id),
            literal(self.id, "name", self.name),
            literal(self.id, "phone", n),  # also inside +86..., 86...
            literal(self.id, "phone", f"{n[:3]} {n[3:7]} {n[7:]}"),
            literal(self.id, "phone", f"{n[:3]}-{n[3:7]}-{n[7:]}"),
            literal(self.id, "masked phone", mask_phone(self.e164)),
        ]


def markers_of(probes: Iterable[Probe]) -> list[Marker]:
    """The leak markers of these probes."""
    return [m for p in probes for m in p.markers()]


ANSWER_LINK = re.compile(r"/i/[A-Za-z0-9_\-]{12,}")


def link_markers(tokens: Mapping[str, int]) -> list[Marker]:
    """One-time answer links (token -> owner), plus any `/i/<token>`-shaped text."""
    out = [literal(owner, "link token", token) for token, owner in tokens.items()]
    out.append(Marker(0, "answer link", "/i/<token>", ANSWER_LINK))
    return out


_CIPHERTEXT = re.compile(r"[A-Za-z0-9+/]{60,}={0,2}")
"""A long run of standard base64 (sealed payloads): random bytes there can spell `/i/` and a dozen
letters, which the `/i/<token>`-shaped catch-all would take for a link. Exact tokens are still
looked for everywhere."""


def _without_ciphertext(text_: str) -> str:
    # An answer link is base64url (no "+"); a long base64 run with a "+" is ciphertext.
    return _CIPHERTEXT.sub(lambda run: "" if "+" in run.group() else run.group(), text_)


def find_leaks(text_: str, markers: Iterable[Marker]) -> list[str]:
    """Each marker found in `text_`, with a little context."""
    hits = []
    for m in markers:
        subject = _without_ciphertext(text_) if m.pattern is ANSWER_LINK else text_
        found = m.pattern.search(subject)
        if found:
            a, b = max(0, found.start() - 60), found.end() + 60
            context = subject[a:b].replace("\n", " ")
            hits.append(f"{m}: …{context}…")
    return hits


def assert_no_leak(text_: str, markers: Iterable[Marker], where: str) -> None:
    """Fail, naming each marker and where it was found."""
    hits = find_leaks(text_, markers)
    assert not hits, f"{where} reveals:\n" + "\n".join(hits)


# Pages ------------------------------------------------------------------------------------------

_VOLATILE = [
    (re.compile(r'(name="csrf_token" value=")[^"]*(")'), r"\1…\2"),
    (re.compile(r'(name="csrf-token" content=")[^"]*(")'), r"\1…\2"),
]


def normalise_page(body: str) -> str:
    """A page without what changes from one request to the next (CSRF tokens)."""
    for pattern, repl in _VOLATILE:
        body = pattern.sub(repl, body)
    return body


def without_echo(body: str, url: str) -> str:
    """A page without the URL it was asked for (the asker chose it; echoing it tells nothing)."""
    from html import escape

    for form in sorted({url, escape(url), url.split("?")[0]}, key=len, reverse=True):
        body = body.replace(form, "<the requested url>")
    return body


def is_static(endpoint: str) -> bool:
    """The app's and the blueprints' static files."""
    return endpoint == "static" or endpoint.endswith(".static")


#: Path parameter values: `values[arg]` or, more precisely, `values[f"{endpoint}:{arg}"]`.
ParamValues = Mapping[str, Sequence[Any]]


def get_urls(app: Flask, values: ParamValues, extra: Iterable[str] = ()) -> list[str]:
    """Every GET route with its path parameters filled in every way `values` allows.

    A route with a parameter nobody can fill is skipped (the caller lists what it skipped with
    `unfillable`). `extra` adds URLs with query strings (e.g. progress of one draw).
    """
    from flask import url_for

    urls: list[str] = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in (rule.methods or ()) or is_static(rule.endpoint):
                continue
            args = sorted(rule.arguments)
            choices = [values.get(f"{rule.endpoint}:{a}", values.get(a, ())) for a in args]
            if any(not c for c in choices):
                continue
            for combo in itertools.product(*choices):
                urls.append(url_for(rule.endpoint, **dict(zip(args, combo, strict=True))))
    urls.extend(extra)
    return list(dict.fromkeys(urls))


def unfillable(app: Flask, values: ParamValues) -> list[str]:
    """GET routes skipped by `get_urls` because a parameter had no value."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or is_static(rule.endpoint):
            continue
        if any(not values.get(f"{rule.endpoint}:{a}", values.get(a, ())) for a in rule.arguments):
            out.append(rule.rule)
    return sorted(out)


@dataclass
class Response:
    """What one client got for one URL."""

    status: int
    body: str


def walk(clients: Mapping[str, Any], urls: Sequence[str]) -> dict[tuple[str, str], Response]:
    """GET every URL with every client; (client label, url) -> response."""
    out = {}
    for label, client in clients.items():
        for url in urls:
            resp = client.get(url)
            out[(label, url)] = Response(resp.status_code, readable(resp))
    return out


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def readable(resp: Any) -> str:
    """A response's text; a spreadsheet's cells, one per line (the audit export); a PDF's
    extracted text (the expert's archive)."""
    if resp.mimetype == XLSX:
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(resp.data), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if cell is not None
        )
    if resp.mimetype == "application/pdf":
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(resp.data)).pages)
    return str(resp.get_data(as_text=True))


def walk_leaks(
    after: Mapping[tuple[str, str], Response],
    markers: Sequence[Marker],
    *,
    baseline: Mapping[tuple[str, str], Response] | None = None,
    allowed: Callable[[str, str], set[int]] = lambda label, url: set(),
) -> list[str]:
    """Leaks in the responses of a walk.

    A page that is byte-for-byte the page of the baseline (CSRF tokens aside) tells nothing about
    what happened since, even when it names a probe (the pool pages name every expert); any other
    page may name no marker, except those of the owners `allowed(label, url)` returns (the
    expert's own record, the invitation page of its own link).
    """
    problems = []
    for (label, url), resp in after.items():
        before = (baseline or {}).get((label, url))
        if before is not None and normalise_page(before.body) == normalise_page(resp.body):
            continue
        ok = allowed(label, url)
        mine = [m for m in markers if m.owner not in ok]
        for hit in find_leaks(without_echo(resp.body, url), mine):
            problems.append(f"GET {url} as {label} ({resp.status}): {hit}")
    return problems


# The raw database ------------------------------------------------------------------------------


Key = tuple[str, tuple[Any, ...]]


def _cell_text(value: Any) -> str:
    """Everything a reader could read in one cell: text, bytes (leniently), zlib content, JSON."""
    if value is None:
        return ""
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        parts = [value.decode("utf-8", errors="replace"), value.decode("latin-1")]
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(value).decode("utf-8", errors="replace"))
        return "\n".join(parts)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    out = str(value)
    if isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(ValueError):  # JSON text: also decoded (\\uXXXX escapes)
            out += "\n" + json.dumps(json.loads(value), ensure_ascii=False)
    return out


@dataclass(frozen=True)
class Cell:
    """One cell of one row."""

    table: str
    key: tuple[Any, ...]
    column: str
    value: Any

    @property
    def text(self) -> str:
        """The cell as text a reader would search."""
        return _cell_text(self.value)


def scan_database(engine: Engine) -> dict[Key, dict[str, Any]]:
    """Every row of every table: (table, primary key) -> {column: value}."""
    rows: dict[Key, dict[str, Any]] = {}
    with engine.connect() as conn:  # one connection: SQLite's write lock is taken per transaction
        insp = inspect(conn)
        for table in insp.get_table_names():
            pk = insp.get_pk_constraint(table).get("constrained_columns") or []
            result = conn.execute(text(f'SELECT * FROM "{table}"'))
            columns = list(result.keys())
            for n, raw in enumerate(result):
                row = dict(zip(columns, raw, strict=True))
                key = tuple(row[c] for c in pk) if pk else ("row", n, *raw)
                rows[(table, key)] = row
    return rows


def changed_cells(
    before: Mapping[Key, Mapping[str, Any]], after: Mapping[Key, Mapping[str, Any]]
) -> list[Cell]:
    """Every cell of a new row, and every changed cell of an existing row."""
    out = []
    for (table, key), row in after.items():
        old = before.get((table, key))
        for column, value in row.items():
            if old is None or old.get(column) != value:
                out.append(Cell(table, key, column, value))
    return out


def cell_leaks(cells: Iterable[Cell], markers: Sequence[Marker], ids: set[int]) -> list[str]:
    """Cells holding an invitee's id (integer value or decimal text), name or phone."""
    problems = []
    for cell in cells:
        where = f"{cell.table}{list(cell.key)}.{cell.column}"
        if isinstance(cell.value, int) and not isinstance(cell.value, bool):
            if cell.value in ids:
                problems.append(f"{where} = {cell.value} (an invitee's id)")
            continue
        for hit in find_leaks(cell.text, markers):
            problems.append(f"{where}: {hit[:300]}")
    return problems


def summarise(problems: Sequence[str], limit: int = 40) -> str:
    """Where it leaks (one line each: page, cell, logger), then the first few leaks in full."""
    pages = sorted({p.split(": ", 1)[0] for p in problems})
    return (
        f"{len(problems)} leaks in {len(pages)} places:\n"
        + "\n".join(pages)
        + "\n\nfirst leaks:\n"
        + "\n".join(problems[:limit])
    )
