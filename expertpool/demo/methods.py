"""Demo step: a scoring-method template for each demo centre, built as the editor builds one.

The template judges services under government procurement: the purchaser's qualification review
(the business licence), a compliance review the committee runs (validity of the bid, substantive
response), the price by the lowest-price formula (30 points) and two scored items with their
评分标准. The past session's method (`demo/past_session.py`) is made from the Guangzhou one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from evaluation_room.scoring import ScoreForm
from expertpool.accounts.models import Centre
from expertpool.demo.context import DemoContext
from expertpool.rooms import methods

TEMPLATE_NAME = "服务类综合评分（含符合性审查）"
CENTRES = ("440100", "440300", "440600")
ROWS: dict[str, str] = {}
for _n, _row in enumerate(
    (
        {
            "item_id": "q_licence",
            "category": "qualification",
            "kind": "pass_fail",
            "name": "营业执照及资质证书",
            "by_committee": "purchaser",
            "criteria": "具有有效的营业执照和工程监理资质证书",
        },
        {
            "item_id": "c_validity",
            "category": "compliance",
            "kind": "pass_fail",
            "name": "投标有效期",
            "criteria": "投标有效期不少于招标文件要求的90日",
        },
        {
            "item_id": "c_response",
            "category": "compliance",
            "kind": "pass_fail",
            "name": "实质性响应",
            "criteria": "对招标文件带★号的实质性条款全部响应，无重大偏离",
        },
        {
            "item_id": "price",
            "category": "price",
            "kind": "objective",
            "name": "价格分",
            "formula": "lowest_price",
            "maximum": "30",
            "step": "0.01",
            "criteria": "以满足要求的最低投标报价为基准价，价格分=基准价/投标报价×30",
        },
        {
            "item_id": "tech",
            "category": "technical",
            "kind": "subjective",
            "name": "监理方案",
            "maximum": "50",
            "step": "0.5",
            "criteria": "方案完整、针对性强的得40-50分；基本可行的得25-40分；其余0-25分",
        },
        {
            "item_id": "service",
            "category": "commercial",
            "kind": "subjective",
            "name": "项目团队与服务承诺",
            "maximum": "20",
            "step": "0.5",
            "criteria": "总监理工程师资历、驻场人员配备及服务承诺",
        },
    )
):
    ROWS.update({f"items-{_n}-{k}": v for k, v in _row.items()})


def demo_form() -> ScoreForm:
    """The demo template's score form, parsed from its editor rows."""
    form, errors = methods.parse_items(ROWS)
    if form is None:  # pragma: no cover - the rows above are valid
        raise ValueError(f"the demo method is invalid: {errors}")
    return form


def templates_step(session: Session, ctx: DemoContext, seed: int, options: dict[str, int]) -> str:
    """Save the demo template in each demo centre (once)."""
    made = 0
    form = demo_form()
    for code in CENTRES:
        centre = session.execute(select(Centre).where(Centre.region_code == code)).scalar_one()
        if any(t.name == TEMPLATE_NAME for t in methods.templates_of(session, centre.id)):
            continue
        methods.save_template(
            session,
            centre_id=centre.id,
            name=TEMPLATE_NAME,
            regime="government_procurement",
            kind="services",
            form=form,
            actor="demo",
        )
        made += 1
    return f"{made} scoring-method templates"
