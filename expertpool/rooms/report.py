"""The evaluation report of a session as printable rows, as HTML data and as a PDF with Chinese
text.

The report is the room's final report (body, signatures, digests): members appear only by
alias. The PDF embeds a CJK TrueType font (WenQuanYi Micro Hei, bundled under static/fonts)
so that its Chinese text can be searched and extracted. Exporting a PDF is recorded in the
audit trail with the report digest and the PDF's own sha256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy.orm import Session

from evaluation_room.errors import RoomError
from expertpool.core import audit
from expertpool.core.calendar import CST
from expertpool.core.errors import Conflict
from expertpool.core.keys import KeyStore
from expertpool.rooms.models import EvaluationSession
from expertpool.rooms.sessions import room_of

FONT_PATH = Path(__file__).resolve().parent.parent / "static" / "fonts" / "wqy-microhei.ttf"
HEADINGS = FontFace(emphasis=None, fill_color=(235, 238, 243))
VERDICTS = {"agree": "同意", "dissent": "不同意"}
FLAG_STATUS = {"open": "待说明", "explained": "已说明", "cleared": "已消除", "voided": "已作废"}


@dataclass(frozen=True)
class Section:
    """A titled table of the report."""

    title: str
    header: list[str]
    rows: list[list[str]]


def final_report(row: EvaluationSession, keys: KeyStore) -> dict[str, Any]:
    """The session's final report (from the start of signing on), else Conflict."""
    try:
        return room_of(row, keys).final_report()
    except RoomError:
        raise Conflict(
            "The report exists once signing has started.", code="report_not_ready"
        ) from None


CHECK_IN_METHODS = {
    "sms_code": "短信验证码",
    "in_person/codes_failed": "现场核验身份证（验证码未通过）",
    "in_person/no_signal": "现场核验身份证（无信号）",
}


def _check_in_method(ci: dict[str, Any]) -> str:
    method = ci.get("method")
    if not method:
        return "未签到"
    if method == "in_person":
        return CHECK_IN_METHODS.get(f"in_person/{ci.get('in_person_reason')}", "现场核验身份证")
    return CHECK_IN_METHODS.get(str(method), str(method))


def _beijing(at: str | None) -> str:
    """An ISO time from the report as Beijing time."""
    if not at:
        return ""
    return datetime.fromisoformat(at).astimezone(CST).strftime("%Y-%m-%d %H:%M")


KINDS = {"objective": "客观", "subjective": "主观", "pass_fail": "通过/不通过"}
STAGES = {"qualification": "资格审查", "compliance": "符合性审查"}


def sections(report: dict[str, Any]) -> list[Section]:
    """The report as tables, in Chinese (the language of the signed record)."""
    body = report["body"]
    items = (body.get("form") or {}).get("items", [])
    names = {i["item_id"]: i["name"] for i in items}
    subjective = [i["item_id"] for i in items if i["kind"] == "subjective"]
    out = [
        Section(
            "投标人",
            ["编号", "名称", "报价", "资格审查"],
            [
                [
                    b["bidder_code"],
                    b["bidder_name"],
                    b["price"],
                    "通过" if all(b["checks"].values()) else "未通过",
                ]
                for b in body.get("bids", [])
            ],
        ),
        Section(
            "评分表",
            ["评分项", "类型", "分值范围", "步长", "评分标准"],
            [
                [
                    i["name"],
                    KINDS.get(i["kind"], i["kind"]),
                    f"{i['minimum']}–{i['maximum']}" if i["kind"] != "pass_fail" else "",
                    i["step"] if i["kind"] != "pass_fail" else "",
                    i.get("criteria", ""),
                ]
                for i in items
            ],
        ),
    ]
    if body.get("review"):
        out.append(
            Section(
                "资格审查与符合性审查结论",
                ["阶段", "投标人", "未通过的审查项", "不通过/评委人数", "理由"],
                [
                    [
                        STAGES.get(st["stage"], st["stage"]),
                        f["bidder_code"],
                        names.get(f["item_id"], f["item_id"]),
                        f"{f['fails']}/{f['members']}",
                        "；".join(f["reasons"]),
                    ]
                    for st in body["review"]
                    for f in st["failed"]
                ],
            )
        )
    if body.get("low_score_reasons"):
        out.append(
            Section(
                "低分理由",
                ["评委", "投标人", "评分项", "分数", "理由"],
                [
                    [
                        r["member"],
                        r["bidder_code"],
                        names.get(r["item_id"], r["item_id"]),
                        r["score"],
                        r["reason"],
                    ]
                    for r in body["low_score_reasons"]
                ],
            )
        )
    out.append(
        Section(
            "评委签到",
            ["评委", "签到方式", "时间（北京时间）", "状态"],
            [
                [
                    m["alias"],
                    _check_in_method(m.get("check_in") or {}),
                    _beijing((m.get("check_in") or {}).get("at")),
                    "" if m["status"] == "active" else m["status"],
                ]
                for m in body.get("members", [])
            ],
        )
    )
    sheet_rows = []
    for alias, sheet in sorted(body.get("sheets", {}).items()):
        for bidder, scores in sorted(sheet["scores"].items()):
            cells = [scores.get(i, "") for i in subjective]
            sheet_rows.append([alias, bidder, *cells, "作废" if sheet["is_voided"] else ""])
    out.append(
        Section(
            "各评委打分（以代号显示）",
            ["评委", "投标人", *[names[i] for i in subjective], "备注"],
            sheet_rows,
        )
    )
    results = body.get("results") or {}
    out.append(
        Section(
            "汇总与排名",
            ["名次", "投标人", "客观分", "主观分", "总分"],
            [
                [str(r["rank"]), r["bidder_code"], *_totals(results, r["bidder_code"])]
                for r in results.get("ranking", [])
            ],
        )
    )
    out.append(
        Section(
            "推荐中标候选人",
            ["顺序", "投标人"],
            [[str(n), code] for n, code in enumerate(results.get("candidates", []), 1)],
        )
    )
    out.append(
        Section(
            "偏离标记",
            ["评委", "投标人", "评分项", "分数", "均值", "偏离%", "状态", "说明"],
            [
                [
                    f["member"] or "",
                    f["bidder_code"],
                    names.get(f["item_id"], f["item_id"]),
                    f["score"],
                    f["mean"],
                    f["deviation_pct"] or "",
                    FLAG_STATUS.get(f["status"], f["status"]),
                    f["explanation"],
                ]
                for f in body.get("flags", [])
            ],
        )
    )
    out.append(
        Section(
            "改分记录",
            ["评委/投标人", "项", "新值", "原因", "说明"],
            [
                [
                    a.get("member") or a["bidder_code"],
                    names.get(a.get("item_id", ""), a.get("item_id", "")),
                    str(a.get("value", "")),
                    a["reason"],
                    a["note"],
                ]
                for a in body.get("amendments", [])
            ],
        )
    )
    out.append(
        Section(
            "签名",
            ["评委", "意见", "理由", "时间", "签署摘要"],
            [
                [
                    s["member"],
                    VERDICTS.get(s["verdict"], s["verdict"])
                    + ("（拒签记录）" if s["is_refusal"] else ""),
                    s["reasons"],
                    s["signed_at"][:19].replace("T", " "),
                    s["report_digest"][:16],
                ]
                for s in report.get("signatures", [])
            ],
        )
    )
    return out


def _totals(results: dict[str, Any], code: str) -> list[str]:
    for b in results.get("bidders", []):
        if b["bidder_code"] == code:
            return [b["objective_total"], b["subjective_total"], b["total"]]
    return ["", "", ""]


def render_pdf(report: dict[str, Any]) -> bytes:
    """Render the report as a PDF with an embedded CJK font."""
    body = report["body"]
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_creator("expertpool")
    pdf.add_font("cjk", fname=str(FONT_PATH))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    project = body["project"]
    pdf.multi_cell(0, 9, f"评标报告：{project.get('title', '')}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    meta = (
        f"项目编号 {project.get('code', '')}　标段 {project.get('lot', '')}　"
        f"评标组长 {body.get('leader') or ''}　会话 {body['room_id']}"
    )
    pdf.multi_cell(0, 6, meta, new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(
        0, 6, f"报告摘要（签署对象）{report['body_digest']}", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.multi_cell(0, 6, f"最终报告摘要 {report['report_digest']}", new_x="LMARGIN", new_y="NEXT")
    for section in sections(report):
        pdf.ln(3)
        pdf.set_font("cjk", size=12)
        pdf.multi_cell(0, 8, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=9)
        if not section.rows:
            pdf.multi_cell(0, 6, "（无）", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(text_align="LEFT", line_height=5, headings_style=HEADINGS) as table:
            table.row(section.header)
            for cells in section.rows:
                table.row([str(c) for c in cells])
    return bytes(pdf.output())


def export_pdf(session: Session, row: EvaluationSession, *, actor: str, keys: KeyStore) -> bytes:
    """Render the PDF and record the export (report digest, PDF sha256) in the audit trail."""
    report = final_report(row, keys)
    data = render_pdf(report)
    try:
        audit.record(
            session,
            actor=actor,
            action="room.report_exported",
            object_type="evaluation_session",
            object_id=row.room_id,
            after={
                "report_digest": report["report_digest"],
                "pdf_sha256": hashlib.sha256(data).hexdigest(),
            },
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return data
