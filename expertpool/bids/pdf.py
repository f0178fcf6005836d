"""PDF work for bid documents: checking an upload by its content, stamping a served copy.

A served copy carries its reader and the time in its page content (an overlay drawn with fpdf2
and merged into every page with pypdf), so a saved or printed copy still says whose it was.
"""

from __future__ import annotations

import io
from pathlib import Path

import filetype
from fpdf import FPDF
from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError, PyPdfError

from expertpool.core.errors import ValidationFailed
from expertpool.core.texts import translated

FONT_PATH = Path(__file__).resolve().parent.parent / "static" / "fonts" / "wqy-microhei.ttf"
STAMP_FONT_PATH = Path(__file__).resolve().parent / "data" / "stamp-font.ttf"
"""WenQuanYi Micro Hei cut down to what a stamp needs (printable ASCII and 专家·：), so stamping a
copy does not parse the whole 4.6 MB font; a stamp with any other character uses the whole font.
Made with `python -m expertpool.bids.pdf stamp-font` (see `make_stamp_font`)."""
STAMP_CHARS = frozenset(chr(c) for c in range(32, 127)) | frozenset("专家·：")
FIELD = "file"


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(fields={FIELD: message})


def too_large_message(max_bytes: int) -> str:
    """The refusal of a file over `max_bytes`, in MB (in KB under one MB)."""
    if max_bytes >= 1024 * 1024:
        return str(translated("The file is larger than %(n)d MB.", n=max_bytes // (1024 * 1024)))
    return str(translated("The file is larger than %(n)d KB.", n=max_bytes // 1024))


def check_pdf(filename: str, data: bytes, *, max_bytes: int, max_pages: int) -> int:
    """The page count of an acceptable bid PDF; raises a field error on `file` otherwise.

    Checked by content: the PDF signature, that pypdf can read every page, not encrypted, at
    least one page and no more than `max_pages`, and no larger than `max_bytes`.
    """
    if not data:
        raise _refused(str(translated("The file is empty.")))
    if len(data) > max_bytes:
        raise _refused(too_large_message(max_bytes))
    kind = filetype.guess(data)
    if kind is None or kind.mime != "application/pdf":
        raise _refused(str(translated("Only PDF files are accepted.")))
    ext = Path(filename or "").suffix.lower().lstrip(".")
    if ext and ext != "pdf":
        raise _refused(str(translated("The file's content does not match its name.")))
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise _refused(str(translated("Password-protected PDFs are not accepted.")))
        pages = len(reader.pages)
        if 0 < pages <= max_pages:
            for page in reader.pages:
                page.mediabox  # noqa: B018 - every page must have a readable size
    except ValidationFailed:
        raise
    except (PdfReadError, PyPdfError, ValueError, TypeError, KeyError, AttributeError):
        raise _refused(str(translated("The PDF could not be read."))) from None
    except Exception:
        raise _refused(str(translated("The PDF could not be read."))) from None
    if pages == 0:
        raise _refused(str(translated("The PDF has no pages.")))
    if pages > max_pages:
        raise _refused(str(translated("The PDF has more than %(n)d pages.", n=max_pages)))
    return pages


def _overlay(width: float, height: float, text: str) -> PdfReader:
    """One page of `width` by `height` points carrying `text` along the top and bottom edges and
    across the middle (light grey)."""
    doc = FPDF(unit="pt", format=(width, height))
    doc.set_auto_page_break(False)
    doc.set_margins(0, 0, 0)
    small = set(text) <= STAMP_CHARS and STAMP_FONT_PATH.exists()
    doc.add_font("wqy", "", str(STAMP_FONT_PATH if small else FONT_PATH))
    doc.add_page()
    doc.set_text_color(150, 150, 150)
    size = max(6.0, min(10.0, width / 60))
    doc.set_font("wqy", size=size)
    doc.text(12, 14, text)
    doc.text(12, height - 8, text)
    big = max(10.0, min(28.0, width / 24))
    doc.set_font("wqy", size=big)
    doc.set_text_color(215, 215, 215)
    with doc.rotation(30, x=width / 2, y=height / 2):
        w = doc.get_string_width(text)
        doc.text(width / 2 - w / 2, height / 2, text)
    return PdfReader(io.BytesIO(bytes(doc.output())))


def watermark(data: bytes, text: str) -> bytes:
    """A copy of the PDF `data` with `text` stamped into every page's content."""
    reader = PdfReader(io.BytesIO(data), strict=False)
    writer = PdfWriter()
    stamps: dict[tuple[int, int], PdfReader] = {}
    for page in reader.pages:
        box = page.mediabox
        w, h = float(box.width), float(box.height)
        key = (round(w), round(h))
        if key not in stamps:
            stamps[key] = _overlay(w, h, text)
        added = writer.add_page(page)
        added.merge_transformed_page(
            stamps[key].pages[0],
            (1, 0, 0, 1, float(box.left), float(box.bottom)),
        )
    writer.add_metadata({"/Subject": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_stamp_font(target: Path = STAMP_FONT_PATH) -> None:
    """Write the cut-down stamp font from the bundled font (run after changing either)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.drop_tables += ["FFTM"]
    font = TTFont(FONT_PATH)
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes=[ord(c) for c in STAMP_CHARS])
    cutter.subset(font)
    font.save(target)


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    if sys.argv[1:] == ["stamp-font"]:
        make_stamp_font()
