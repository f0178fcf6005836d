"""The named evaluation report as a PDF, built from the body the members signed.

Members review and sign a version that shows co-members as aliases (`evaluation_room/report.py`);
at sign-off this module builds the PDF that the regulations require (招标投标法实施条例 Art. 53,
《评标委员会和评标方法暂行规定》(12号令) Art. 42, 财政部87号令 Art. 44): the project and lot, the
committee by name with their roles, invalid bids and why, each member's scores, totals and
ranking (ties by the regime's rule), at most three recommended candidates in order, deviations
and their explanations, replacements, dissent with its reasons, and each signature with its time.

Every number and sentence comes from the signed body; only the names come from the sealed room
state (alias → name). The signed body itself is attached to the PDF (`report-body.json`) with its
digest printed, so an auditor can recompute the digest the members signed. Every time is shown in
Beijing time and labelled so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fpdf import FPDF

from evaluation_room.report import canonical_json
from expertpool.core.calendar import CST
from expertpool.rooms.report import FLAG_STATUS, FONT_PATH, HEADINGS, VERDICTS, Section

BEIJING = "北京时间"
ROLES = {"expert": "评标专家", "representative": "招标人代表"}
STATUS = {"active": "在席", "replaced": "已更换", "removed": "已退出"}
TIE_RULES = {
    "price": "总分相同的，按投标报价由低到高排序",
    "price_then_technical": (
        "总分相同的，按投标报价由低到高排序；报价也相同的，按技术得分由高到低排序"
    ),
}
CHECK_IN = {"sms_code": "短信验证码", "in_person": "现场核验身份证"}
BODY_ATTACHMENT = "report-body.json"


@dataclass(frozen=True)
class ReportContext:
    """What the named report adds to the signed body: who is behind each alias, the venues,
    the project as recorded, the tie rule in force and the centre's name."""

    names: dict[str, str]
    roles: dict[str, str]
    venues: dict[str, str]
    venue_of: dict[str, str]
    replacements: list[dict[str, str]]
    tie_rule: str
    project_name: str
    project_code: str
    lot: str
    tenderer: str
    centre: str


def beijing(at: str | datetime | None) -> str:
    """A time as Beijing time, labelled (``2026-12-03 10:22（北京时间）``)."""
    if not at:
        return ""
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    return when.astimezone(CST).strftime("%Y-%m-%d %H:%M") + f"（{BEIJING}）"


def context_from_state(
    state: dict[str, Any], *, project: dict[str, str], vacancy_reasons: dict[str, str]
) -> ReportContext:
    """The named context of a room's (opened) state: alias → name and role, and the seats
    vacated with their reason (from the host's vacancy record when the room has none)."""
    participants = state.get("participants", [])
    by_id = {p["participant_id"]: p for p in participants}
    committee = [p for p in participants if p.get("alias")]
    names = {p["alias"]: p["name"] for p in committee}
    roles = {p["alias"]: p["role"] for p in committee}
    venue_of = {p["alias"]: p.get("venue_id") or "" for p in committee}
    venues = {v["venue_id"]: v["name"] for v in state.get("venues", [])}
    replacements = []
    for p in committee:
        if p.get("status") in ("replaced", "removed"):
            successor = by_id.get(p.get("replaced_by") or "")
            replacements.append(
                {
                    "member": p["alias"],
                    "reason": p.get("removal_reason")
                    or vacancy_reasons.get(p["participant_id"], ""),
                    "replaced_by": (successor or {}).get("alias") or "",
                }
            )
    scoring = (state.get("settings") or {}).get("scoring") or {}
    return ReportContext(
        names=names,
        roles=roles,
        venues=venues,
        venue_of=venue_of,
        replacements=replacements,
        tie_rule=str(scoring.get("tie_rule", "")),
        project_name=project.get("name") or state.get("project", {}).get("title", ""),
        project_code=project.get("code") or state.get("project", {}).get("code", ""),
        lot=project.get("lot") or state.get("project", {}).get("lot", ""),
        tenderer=project.get("tenderer", ""),
        centre=project.get("centre", ""),
    )


def _who(ctx: ReportContext, alias: str | None) -> str:
    if not alias:
        return ""
    return f"{ctx.names.get(alias, '')}（{alias}）"


def named_sections(report: dict[str, Any], ctx: ReportContext) -> list[Section]:
    """The named report's tables, in the order the regulations list them."""
    body = report["body"]
    items = (body.get("form") or {}).get("items", [])
    item_names = {i["item_id"]: i["name"] for i in items}
    subjective = [i["item_id"] for i in items if i["kind"] == "subjective"]
    bids = {b["bidder_code"]: b for b in body.get("bids", [])}
    results = body.get("results") or {}
    leader = body.get("leader")
    out: list[Section] = []
    out.append(
        Section(
            "一、评标委员会成员",
            ["姓名", "代号", "身份", "场地", "签到方式", f"签到时间（{BEIJING}）", "状态"],
            [
                [
                    ctx.names.get(m["alias"], ""),
                    m["alias"],
                    ROLES.get(ctx.roles.get(m["alias"], ""), "")
                    + ("（组长）" if m["alias"] == leader else ""),
                    ctx.venues.get(ctx.venue_of.get(m["alias"], ""), ""),
                    CHECK_IN.get(str((m.get("check_in") or {}).get("method")), "未签到"),
                    beijing((m.get("check_in") or {}).get("at")),
                    STATUS.get(m["status"], m["status"]),
                ]
                for m in body.get("members", [])
            ],
        )
    )
    out.append(
        Section(
            "二、投标人及资格审查",
            ["编号", "投标人", "投标报价（元）", "审查结果"],
            [
                [b["bidder_code"], b["bidder_name"], b["price"], _check_result(b, item_names)]
                for b in body.get("bids", [])
            ],
        )
    )
    out.append(
        Section(
            "三、无效投标及原因",
            ["编号", "投标人", "原因（未通过的审查项）"],
            [
                [
                    e["bidder_code"],
                    bids.get(e["bidder_code"], {}).get("bidder_name", ""),
                    _excluded_reason(e, item_names),
                ]
                for e in results.get("excluded", [])
            ],
        )
    )
    if body.get("review"):
        out.append(
            Section(
                "三（续）、资格审查与符合性审查结论（少数服从多数）",
                ["阶段", "编号", "投标人", "未通过的审查项", "认定不通过/评委人数", "理由"],
                [
                    [
                        STAGES.get(st["stage"], st["stage"]),
                        f["bidder_code"],
                        bids.get(f["bidder_code"], {}).get("bidder_name", ""),
                        item_names.get(f["item_id"], f["item_id"]),
                        f"{f['fails']}/{f['members']}",
                        "；".join(f["reasons"]),
                    ]
                    for st in body["review"]
                    for f in st["failed"]
                ]
                or [
                    [STAGES.get(st["stage"], st["stage"]), "", "全部通过", "", "", ""]
                    for st in body["review"]
                ],
            )
        )
    sheet_rows = []
    for alias, sheet in sorted(body.get("sheets", {}).items()):
        for bidder, scores in sorted(sheet["scores"].items()):
            cells = [str(scores.get(i, "")) for i in subjective]
            sheet_rows.append(
                [_who(ctx, alias), bidder, *cells, "作废（被更换）" if sheet["is_voided"] else ""]
            )
    out.append(
        Section(
            "四、各评委评分",
            ["评委", "投标人", *[item_names[i] for i in subjective], "备注"],
            sheet_rows,
        )
    )
    if body.get("low_score_reasons"):
        out.append(
            Section(
                "四（续）、低分理由",
                ["评委", "投标人", "评分项", "分数", "理由"],
                [
                    [
                        _who(ctx, r["member"]),
                        r["bidder_code"],
                        item_names.get(r["item_id"], r["item_id"]),
                        str(r["score"]),
                        r["reason"],
                    ]
                    for r in body["low_score_reasons"]
                ],
            )
        )
    out.append(
        Section(
            "五、汇总得分与排名（" + TIE_RULES.get(ctx.tie_rule, ctx.tie_rule) + "）",
            ["名次", "编号", "投标人", "客观分", "主观分", "总分", "排序依据"],
            [
                [
                    str(r["rank"]),
                    r["bidder_code"],
                    bids.get(r["bidder_code"], {}).get("bidder_name", ""),
                    *_totals(results, r["bidder_code"]),
                    _decided_by(r.get("decided_by")),
                ]
                for r in results.get("ranking", [])
            ],
        )
    )
    out.append(
        Section(
            "六、推荐中标候选人（按顺序，不超过三名）",
            ["顺序", "编号", "投标人"],
            [
                [str(n), code, bids.get(code, {}).get("bidder_name", "")]
                for n, code in enumerate(results.get("candidates", [])[:3], 1)
            ],
        )
    )
    out.append(
        Section(
            "七、评分偏离及说明",
            ["评委", "投标人", "评分项", "分数", "均值", "偏离%", "状态", "说明"],
            [
                [
                    _who(ctx, f.get("member")),
                    f["bidder_code"],
                    item_names.get(f["item_id"], f["item_id"]),
                    str(f["score"]),
                    str(f["mean"]),
                    str(f["deviation_pct"] or ""),
                    FLAG_STATUS.get(f["status"], f["status"]),
                    f["explanation"] or "",
                ]
                for f in body.get("flags", [])
            ],
        )
    )
    out.append(
        Section(
            "八、改分及报价修正记录",
            ["评委/投标人", "项", "新值", "原因", "说明", f"时间（{BEIJING}）"],
            [
                [
                    _who(ctx, a.get("member")) or a["bidder_code"],
                    item_names.get(a.get("item_id", ""), a.get("item_id", "")),
                    str(a.get("value", a.get("bid", {}).get("price", ""))),
                    str(a["reason"]),
                    a["note"] or "",
                    beijing(a.get("set_at") or a.get("entered_at")),
                ]
                for a in body.get("amendments", [])
            ],
        )
    )
    out.append(
        Section(
            "九、评委更换记录（被更换评委的评分作废并由替补重新评分）",
            ["被更换评委", "原因", "替补评委"],
            [
                [_who(ctx, r["member"]), _reason(r["reason"]), _who(ctx, r["replaced_by"])]
                for r in ctx.replacements
            ],
        )
    )
    signatures = report.get("signatures", [])
    out.append(
        Section(
            "十、不同意见及理由",
            ["评委", "理由"],
            [
                [_who(ctx, s["member"]), s["reasons"]]
                for s in signatures
                if s["verdict"] == "dissent"
            ],
        )
    )
    out.append(
        Section(
            "十一、签署记录",
            ["评委", "意见", f"签署时间（{BEIJING}）", "签署方式", "所签报告摘要（前16位）"],
            [
                [
                    _who(ctx, s["member"]),
                    VERDICTS.get(s["verdict"], s["verdict"]),
                    beijing(s["signed_at"]),
                    "主持人记录拒签" if s["is_refusal"] else "本人登录并复核密码后签署",
                    s["report_digest"][:16],
                ]
                for s in signatures
            ],
        )
    )
    return out


STAGES = {"qualification": "资格审查", "compliance": "符合性审查", "checks": "资格审查（采购人）"}


def _excluded_reason(e: dict[str, Any], item_names: dict[str, str]) -> str:
    """Why a bid was excluded: the stage, the failed items and the committee's reasons."""
    failed = "；".join(item_names.get(k, k) for k in e.get("failed_checks", []))
    stage = e.get("stage", "checks")
    if stage == "checks":
        return failed
    reasons = "；".join(e.get("reasons", []))
    return f"{STAGES.get(stage, stage)}未通过：{failed}" + (f"（{reasons}）" if reasons else "")


def _check_result(bid: dict[str, Any], item_names: dict[str, str]) -> str:
    # checks are keyed by the method's qualification item (older bids: by a typed name)
    failed = sorted(item_names.get(k, k) for k, ok in bid.get("checks", {}).items() if not ok)
    return "通过" if not failed else "未通过：" + "；".join(failed)


def _decided_by(rule: str | None) -> str:
    return {
        None: "",
        "total": "总分",
        "price": "报价",
        "subjective_total": "技术（主观）得分",
        "tied": "并列",
    }.get(rule, rule or "")


def _totals(results: dict[str, Any], code: str) -> list[str]:
    for b in results.get("bidders", []):
        if b["bidder_code"] == code:
            return [str(b["objective_total"]), str(b["subjective_total"]), str(b["total"])]
    return ["", "", ""]


def render_named_pdf(report: dict[str, Any], ctx: ReportContext, *, built_at: datetime) -> bytes:
    """The named report as an unsigned PDF (CJK font embedded, the signed body attached)."""
    body = report["body"]
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_creator("expertpool")
    pdf.set_title(f"评标报告 {ctx.project_code} 标段{ctx.lot}")
    pdf.set_creation_date(built_at)
    pdf.add_font("cjk", fname=str(FONT_PATH))
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.multi_cell(0, 9, f"评标报告：{ctx.project_name}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=10)
    for line in (
        f"项目编号 {ctx.project_code}　标段 {ctx.lot}　招标人 {ctx.tenderer}",
        f"评标会话 {body['room_id']}　评标结束 {beijing(body.get('finalised_at'))}　"
        f"报告生成 {beijing(built_at)}",
        f"评委签署的报告摘要（SHA-256，以代号显示的版本，附件 {BODY_ATTACHMENT}）"
        f"{report['body_digest']}",
        f"含签署记录的最终报告摘要 {report['report_digest']}",
    ):
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
    for section in named_sections(report, ctx):
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
    pdf.ln(4)
    pdf.set_font("cjk", size=9)
    pdf.multi_cell(
        0,
        5,
        f"本报告由{ctx.centre or '交易中心'}在评标委员会全体签署后生成，并以中心证书作 PDF 数字签名"
        "（PAdES）；任何改动都会使签名失效。本报告中的时间均为北京时间（UTC+8）。"
        "核验方法见系统文档 docs/reports.md，证书公布于 /keys。",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.embed_file(
        bytes=canonical_json(report),
        basename=BODY_ATTACHMENT,
        desc="The final report as signed (canonical JSON, members by alias)",
        compress=True,
    )
    return bytes(pdf.output())


#: Reasons the system records when the conflict re-check at check-in takes a member off.
CONFLICT_REASONS = {
    "conflict:employer_conflict": "回避：工作单位为本项目投标人、招标人或代理机构",
    "conflict:avoidance_conflict": "回避：本人申报的关联单位或近亲属单位涉及本项目",
    "conflict:not_active": "专家资格状态已不可参加评审",
}


def _reason(reason: str) -> str:
    """A replacement's reason as the report states it: the host's words, or the conflict found."""
    return CONFLICT_REASONS.get(reason, reason)
