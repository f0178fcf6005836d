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
T.update({
"The appointment is recorded and waits for a supervisor's approval.": "直接确定申请已记录，等待监督人员审批。",
"Direct appointments": "直接确定专家",
"Special projects only: the tenderer appoints experts directly with a written reason; a supervisor approves. These experts are not drawn, and the record says so.": "仅限特殊项目：招标人凭书面理由直接确定专家，并经监督人员审批。这些专家并非随机抽取，记录中如实标明。",
"Expert ID": "专家编号",
"not drawn": "非抽取",
"Note": "备注",
"Refuse": "不批准",
"No direct appointments.": "暂无直接确定的专家。",
"The tenderer's written reason": "招标人的书面理由",
"Record the appointment": "记录直接确定",
"Direct appointments (special projects)": "直接确定专家（特殊项目）",
})
