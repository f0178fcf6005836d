"""Message catalogue upkeep: `python tools/i18n.py update|compile|check`.

update  extracts every string from code and templates and merges it into the zh catalogue
compile writes the .mo files the application loads
check   exits 1 when a string lacks its Chinese translation or a .mo is stale
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "expertpool"
PO = PKG / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2"), ("*/templates/**.html", "jinja2")]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "translated": None,
}


def extract() -> Catalog:
    """Every translatable string of the package."""
    template = Catalog(project="expertpool")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PKG),
        METHODS,
        keywords=KEYWORDS,
        options_map={
            pattern: {"extensions": "jinja2.ext.i18n"}
            for pattern, method in METHODS
            if method == "jinja2"
        },
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def load() -> Catalog:
    """The Chinese catalogue (empty when it does not exist yet)."""
    if not PO.exists():
        return Catalog(locale="zh", project="expertpool")
    with PO.open("rb") as fh:
        return read_po(fh, locale="zh")


def save(catalog: Catalog) -> None:
    """Write the .po sorted for stable diffs."""
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, catalog, sort_output=True, omit_header=False, width=0)


def mo_bytes(catalog: Catalog) -> bytes:
    """The compiled form of a catalogue."""
    buf = io.BytesIO()
    write_mo(buf, catalog)
    return buf.getvalue()


def update() -> None:
    """Merge newly extracted strings into the Chinese catalogue."""
    catalog = load()
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    save(catalog)


def compile_mo() -> None:
    """Write the .mo file."""
    MO.write_bytes(mo_bytes(load()))


def missing() -> list[str]:
    """Strings without a Chinese translation."""
    catalog = load()
    known = {m.id for m in catalog if m.id}
    out = []
    for message in extract():
        if not message.id:
            continue
        if message.id not in known:
            out.append(str(message.id))
            continue
        entry = catalog[message.id]
        if (
            not entry.string
            or (isinstance(entry.string, tuple) and not all(entry.string))
            or entry.fuzzy
        ):
            out.append(str(message.id))
    return out


def main() -> int:
    """Run one sub-command."""
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "update":
        update()
        return 0
    if cmd == "compile":
        compile_mo()
        return 0
    gaps = missing()
    for g in gaps:
        print(f"untranslated: {g!r}")
    stale = not MO.exists() or MO.read_bytes() != mo_bytes(load())
    if stale:
        print("messages.mo is stale: run `python tools/i18n.py compile`")
    return 1 if gaps or stale else 0


if __name__ == "__main__":
    sys.exit(main())
