"""Made-up bid PDFs for the demo and the tests (fpdf2 with the bundled CJK font)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from fpdf import FPDF
from pypdf import PdfReader, PdfWriter

from expertpool.bids.pdf import FONT_PATH


def sample_pdf(title: str, lines: Sequence[str] = (), *, pages: int = 2) -> bytes:
    """A small A4 PDF: `title` on every page, then `lines`, and a page number."""
    return sample_pdfs([(title, lines, pages)])[0]


def sample_pdfs(specs: Sequence[tuple[str, Sequence[str], int]]) -> list[bytes]:
    """Several small PDFs, each `(title, lines, pages)`: drawn as one document (the font is
    parsed once, which takes seconds) and split into one file per spec."""
    doc = FPDF(format="A4")
    doc.set_auto_page_break(False)
    doc.add_font("wqy", "", str(FONT_PATH))
    for title, lines, pages in specs:
        _pages(doc, title, lines, pages)
    whole = PdfReader(io.BytesIO(bytes(doc.output())))
    out: list[bytes] = []
    start = 0
    for _title, _lines, pages in specs:
        writer = PdfWriter()
        for page in whole.pages[start : start + pages]:
            writer.add_page(page)
        start += pages
        buf = io.BytesIO()
        writer.write(buf)
        out.append(buf.getvalue())
    return out


def _pages(doc: FPDF, title: str, lines: Sequence[str], pages: int) -> None:
    for n in range(1, pages + 1):
        doc.add_page()
        doc.set_font("wqy", size=18)
        doc.set_xy(20, 25)
        doc.cell(text=title)
        doc.set_font("wqy", size=11)
        y = 45.0
        for line in lines:
            doc.set_xy(20, y)
            doc.multi_cell(170, 7, line)
            y = doc.get_y() + 3
        doc.set_xy(20, 280)
        doc.cell(text=f"第 {n} 页 / 共 {pages} 页")


def bid_lines(bidder: str, kind: str) -> list[str]:
    """A few plausible paragraphs for one bidder's file of one kind."""
    if kind == "commercial":
        return [
            f"投标人：{bidder}",
            "一、投标函及投标函附录：我方承诺按招标文件要求的工期和质量标准完成本项目。",
            "二、资格证明文件：营业执照、资质证书、安全生产许可证、近三年财务审计报告。",
            "三、类似项目业绩：近三年完成同类项目三项，合同金额均在五百万元以上。",
        ]
    if kind == "technical":
        return [
            f"投标人：{bidder}",
            "一、施工组织设计：总体部署、进度计划（横道图）、主要施工方法。",
            "二、质量保证措施：三级质量检查制度，关键工序旁站。",
            "三、安全文明施工措施：封闭围挡、扬尘控制、夜间施工降噪。",
            "四、项目管理机构：项目经理一级建造师，技术负责人高级工程师。",
        ]
    if kind == "price":
        return [
            f"投标人：{bidder}",
            "投标报价汇总表（单位：元）",
            "分部分项工程费、措施项目费、其他项目费、规费、税金，合计见开标一览表。",
        ]
    return [
        "招标文件（含评标办法）",
        "第一章 招标公告；第二章 投标人须知；第三章 评标办法（综合评估法）。",
        "评分标准：价格分 30 分（最低评标价为基准价）；技术分 50 分；商务分 20 分。",
        "资格审查：营业执照、资质证书、安全生产许可证，缺一项即不通过。",
    ]
