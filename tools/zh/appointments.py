"""Chinese translations of the special-project (direct appointment) strings (msgid -> translation)."""

T = {
"Experts can no longer be appointed to this project.": "该项目已不能再直接确定专家。",
"Give the tenderer's written reason (10 to 2000 characters).": "请填写招标人的书面理由（10 至 2000 字）。",
"Only an active expert of the pool can be appointed.": "只能确定专家库中在库状态的专家。",
"This expert works for a bidder, the tenderer or the agency.": "该专家任职于投标人、招标人或招标代理机构。",
"This expert is already appointed to this project.": "该专家已被确定为本项目的评委。",
"Only a supervisor approves a direct appointment.": "直接确定专家须由监督人员审批。",
"The supervisor must be another person than the one who asked.": "审批的监督人员不能与申请人为同一人。",
"This appointment has already been decided.": "该直接确定申请已审批。",
"This expert already holds a seat at that time.": "该专家在该时段已有评标席位。",
}
