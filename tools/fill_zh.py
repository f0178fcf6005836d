"""Rebuild the zh catalogue from the translation tables in tools/zh/*.py, then compile it.

Each feature keeps its own table (`T = {english msgid: chinese}`) so that parallel work never
conflicts inside messages.po; run `python tools/fill_zh.py` after adding strings.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import i18n


def tables() -> dict[str, str]:
    """Every translation table merged (a msgid translated twice must agree)."""
    merged: dict[str, str] = {}
    clashes = []
    for path in sorted((Path(__file__).parent / "zh").glob("*.py")):
        for msgid, text in runpy.run_path(str(path))["T"].items():
            if msgid in merged and merged[msgid] != text:
                clashes.append(f"{path.name}: {msgid!r} is {text!r} here but {merged[msgid]!r} elsewhere")
            merged.setdefault(msgid, text)
    if clashes:
        raise SystemExit("\n".join(clashes))
    return merged


def main() -> int:
    """Fill in translations, then compile; list what is still untranslated."""
    i18n.update()
    catalog = i18n.load()
    for msgid, text in tables().items():
        if msgid in catalog:
            catalog[msgid].string = text
            catalog[msgid].flags.discard("fuzzy")
    i18n.save(catalog)
    i18n.compile_mo()
    gaps = i18n.missing()
    for g in gaps:
        print(f"untranslated: {g!r}")
    return 1 if gaps else 0


if __name__ == "__main__":
    sys.exit(main())
