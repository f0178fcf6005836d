"""Chinese translations of the notification strings (msgid -> translation)."""

T = {
"Thank you: you have accepted. A confirmation SMS follows.": "谢谢，您已接受邀请，确认短信稍后发送。",
"Thank you: we have recorded that you cannot attend.": "谢谢，已记录您不能参加。",
"Evaluation invitation": "评标邀请",
"Dear %(name)s, you are invited to evaluate bids on %(when)s at %(venue)s.": "%(name)s专家您好，诚邀您于%(when)s在%(venue)s参加评标。",
"I will attend": "我将参加", "I cannot attend": "我不能参加",
"Invitation progress": "邀请进度", "Counts only: who was called is never shown here.": "此处仅显示数量，不显示被通知人员。",
"State": "状态", "Invitations": "专家邀请", "Outbox": "发件箱", "Provider: %(p)s.": "通信服务：%(p)s。",
"Nothing leaves this server: answer the simulated calls and messages below.": "本服务器不会真正发送任何消息：请在下方应答模拟的电话和短信。",
"Recipient": "接收号码", "Text": "内容", "Status": "状态", "Invitation": "邀请", "Attempts": "联系记录",
"Answer": "应答", "Machine": "答录机", "No answer": "无人接听", "Reply 1": "回复1", "Reply 2": "回复2",
"Nothing sent yet.": "尚未发送任何消息。", "Simulated answer recorded.": "模拟应答已记录。",
"Queued": "待通知", "Contacting": "通知中", "Accepted": "已接受", "Declined": "已拒绝", "No response": "未答复",
"Unreachable": "无法联系", "Withdrawn": "已退出",
"Simulation needs the console notifier.": "模拟应答仅适用于控制台通知方式。",
"This simulated call is no longer held in memory.": "该模拟呼叫已不在内存中。",
}
