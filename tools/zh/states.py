"""Chinese names of project, draw and appointment states and of project kinds."""

T = {
    "Ready to draw": "待抽取", "Drawn": "已抽取", "Awarded": "已定标", "Validated": "已校验", "Committed": "已承诺（待见证）",
    "Sealed": "已封存", "Abandoned": "已放弃", "Failed": "抽取失败", "Requested": "待审批", "Refused": "已拒绝",
    "Works": "工程", "Goods": "货物", "Services": "服务",
}
