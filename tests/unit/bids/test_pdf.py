"""The bid PDF checks and the stamp, without a database: any bytes are either a PDF with its page
count or a field error on `file` (never another exception), and a stamped copy keeps its pages
and text and adds the stamp to every page."""

from __future__ import annotations

import io
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from expertpool.bids import pdf
from expertpool.core.errors import ValidationFailed

LIMITS = {"max_bytes": 1 << 20, "max_pages": 5}


@cache
def two_pages() -> bytes:
    """A two-page PDF (a core font: the bundled CJK font takes seconds to parse, the
    integration tests use it)."""
    from fpdf import FPDF

    doc = FPDF()
    doc.set_font("helvetica", size=12)
    for n in (1, 2):
        doc.add_page()
        doc.cell(text=f"Quality assurance, page {n}")
    return bytes(doc.output())


def test_a_pdf_passes_with_its_page_count() -> None:
    assert pdf.check_pdf("a.pdf", two_pages(), **LIMITS) == 2
    assert pdf.check_pdf("", two_pages(), **LIMITS) == 2


@pytest.mark.parametrize(
    ("data", "name", "limits", "message"),
    [
        (b"", "a.pdf", LIMITS, "empty"),
        (b"GIF89a" + b"\x00" * 40, "a.pdf", LIMITS, "Only PDF"),
        (None, "a.docx", LIMITS, "does not match"),
        (None, "a.pdf", {"max_bytes": 1024, "max_pages": 5}, "larger than 1 KB"),
        (None, "a.pdf", {"max_bytes": 1 << 20, "max_pages": 1}, "more than 1 pages"),
        (b"%PDF-1.4\n" + b"\xff" * 300, "a.pdf", LIMITS, "could not be read"),
    ],
)
def test_refusals_name_the_file_field(
    data: bytes | None, name: str, limits: dict[str, int], message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        pdf.check_pdf(name, two_pages() if data is None else data, **limits)
    assert message in refused.value.fields["file"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        # a real PDF cut short or with bytes changed: the parser fails in many ways
        st.tuples(st.integers(0, 1500), st.binary(min_size=1, max_size=8)).map(
            lambda t: two_pages()[: t[0]] + t[1] + two_pages()[t[0] + len(t[1]) :]
        ),
    )
)
def test_any_bytes_are_a_page_count_or_a_field_error(data: bytes) -> None:
    try:
        pages = pdf.check_pdf("a.pdf", data, **LIMITS)
    except ValidationFailed as exc:
        assert set(exc.fields) == {"file"}
    else:
        assert 1 <= pages <= LIMITS["max_pages"]


def test_a_stamped_copy_keeps_the_pages_and_text_and_carries_the_stamp_on_each() -> None:
    stamp = "专家3 · r0123456789abcdef · 2026-12-03 20:05:00"
    copy = PdfReader(io.BytesIO(pdf.watermark(two_pages(), stamp)))
    assert len(copy.pages) == 2
    for page in copy.pages:
        text = page.extract_text()
        assert "Quality assurance" in text and stamp in text
