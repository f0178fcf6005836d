"""The named report's tables from a room's state: names beside aliases, the invalid bid and why,
a replacement with its reason, the voided sheet, dissent and Beijing times."""

from __future__ import annotations

from evaluation_room.model import ParticipantSpec, Phase, Role
from expertpool.reports.document import context_from_state, named_sections
from tests.unit.room.support import MAIN_HOST, SUPERVISOR, RoomDriver


def _sections() -> dict[str, list[list[str]]]:
    d = RoomDriver()
    room = d.to(Phase.SCORING)
    first = d.members[0]
    d.submit_all()  # every sheet in; then the first member is found conflicted and replaced
    spec = ParticipantSpec("e9", "u_e9", "姓名替补", Role.EXPERT, "gz", "S09")
    d.auth.passwords["u_e9"] = "pw-u_e9"
    room.propose_removal(MAIN_HOST, first, "与投标人存在利害关系")
    room.approve_removal(SUPERVISOR, first, spec)
    d.check_in("e9")
    d.to(Phase.ARCHIVED)
    state = room.to_state()
    ctx = context_from_state(state, project={"name": "某医院设备采购"}, vacancy_reasons={})
    return {s.title: s.rows for s in named_sections(room.final_report(), ctx)}


def test_names_replacements_invalid_bids_and_times_are_in_the_named_tables() -> None:
    tables = _sections()
    members = tables["一、评标委员会成员"]
    assert members[0][:2] == ["姓名e1", "专家1"] and members[0][-1] == "已更换"
    assert any(row[0] == "姓名替补" and row[1] == "专家6" for row in members)
    assert tables["三、无效投标及原因"] == [["B003", "丙公司", "licence"]]
    (replacement,) = tables["九、评委更换记录（被更换评委的评分作废并由替补重新评分）"]
    assert replacement == ["姓名e1（专家1）", "与投标人存在利害关系", "姓名替补（专家6）"]
    voided = [r for r in tables["四、各评委评分"] if r[0] == "姓名e1（专家1）"]
    assert voided and all(r[-1] == "作废（被更换）" for r in voided)
    (signed,) = [r for r in tables["十一、签署记录"] if r[0] == "姓名替补（专家6）"]
    assert signed[2].endswith("（北京时间）") and signed[2].startswith("2025-03-03 09:")
