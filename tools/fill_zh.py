"""Apply translations from a Python file defining `T = {msgid: translation}` to the zh catalogue."""

from __future__ import annotations

import runpy
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import i18n


def main() -> int:
    """Fill in translations, then compile."""
    table = runpy.run_path(sys.argv[1])["T"]
    i18n.update()
    catalog = i18n.load()
    for msgid, text in table.items():
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
