"""Write docs/rules.md from the bundled rule file: `python tools/rules_doc.py`."""

from __future__ import annotations

from pathlib import Path

from expertpool.regimes.document import render

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    (ROOT / "docs" / "rules.md").write_text(render(), encoding="utf-8")
