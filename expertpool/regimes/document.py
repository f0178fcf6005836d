"""`docs/rules.md`: every bundled rule with its value, source and status, made from the data file
(`python tools/rules_doc.py` writes it; a test keeps it equal to the data).
"""

from __future__ import annotations

import json

from expertpool.regimes import rulebook
from expertpool.regimes.models import ANY
from expertpool.regimes.rules import RULE_KEYS

STATUS_TEXT = {
    "quoted": "quoted from the official text",
    "commonly_cited": "as commonly cited, not checked against the official text",
    "local_practice": "provincial or common practice, not checked against an official text",
}

INTRO = rulebook.DATA / "rules-doc-intro.md"
"""The hand-written part of the page (how rules are looked up and where each applies)."""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    """The Markdown of docs/rules.md for the bundled rules."""
    data = rulebook.bundled()
    order = {k: i for i, k in enumerate(RULE_KEYS)}
    rows = sorted(
        rulebook.bundled_rows(),
        key=lambda r: (
            r["regime"] != ANY,
            r["regime"],
            r["method"] != ANY,
            r["method"],
            order.get(r["key"], 99),
        ),
    )
    lines = [INTRO.read_text(encoding="utf-8"), f"In force from {data['effective_on']}.", ""]
    lines.append(
        "Methods by regime: "
        + "; ".join(
            f"`{regime}`: " + ", ".join(f"`{m}`" for m in methods)
            for regime, methods in data["methods"].items()
        )
        + "."
    )
    lines.append("")
    lines.append("| regime | method | rule | value | source | status |")
    lines.append("|---|---|---|---|---|---|")
    for r in rows:
        value = json.dumps(r["value"], ensure_ascii=False)
        lines.append(
            f"| `{r['regime']}` | `{r['method']}` | `{r['key']}` | `{_cell(value)}` | "
            f"{_cell(r['source'])} | {STATUS_TEXT[r['status']]} |"
        )
    return "\n".join(lines) + "\n"
