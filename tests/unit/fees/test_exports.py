"""Bank files: every column, text kept as text, nothing a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from expertpool.fees.payments import EXPORT_COLUMNS, to_csv, to_xlsx

ROW = {
    "reference": "FL12",
    "payee": '=HYPERLINK("http://x","点我")',
    "bank": "@SUM(1)",
    "account": "6222020200112233445",
    "amount": "1072.00",
    "payer": "广州市某人民医院",
    "session": "-1+1",
}


def test_the_excel_file_keeps_accounts_and_amounts_as_text_and_runs_no_formula() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx([ROW]))).worksheets[0]
    header, row = ([c for c in r] for r in sheet.iter_rows(max_row=2))
    assert [c.value for c in header] == list(EXPORT_COLUMNS)
    values = {h.value: c for h, c in zip(header, row, strict=True)}
    assert all(c.data_type == "s" for c in row)
    assert values["account"].value == "6222020200112233445"
    assert values["amount"].value == "1072.00"
    assert values["payee"].value == "'" + ROW["payee"]
    assert values["bank"].value == "'@SUM(1)" and values["session"].value == "'-1+1"


def test_the_csv_file_has_a_bom_a_header_and_no_formula() -> None:
    data = to_csv([ROW])
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(EXPORT_COLUMNS)
    assert rows[1][1].startswith("'=") and rows[1][3] == ROW["account"]
