"""Bank accounts, a batch exported as Excel and CSV, read back, re-imported as paid, a reversal."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from expertpool.core.errors import Conflict, ValidationFailed
from expertpool.fees import payments, statements
from expertpool.fees.models import BankAccount, FeeLine, LineKind, LineStatus
from expertpool.rooms.sessions import get_session
from tests.integration.fees.conftest import ClosedSession

ACCOUNTS = {"A": "6222020200112233445", "B": "6222020200112233446", "E": "6217000010001234567"}


def _ready(example: ClosedSession) -> tuple[object, list[FeeLine]]:
    example.close()
    st = example.app.extensions["expertpool"]
    session = st.sessions()
    s = statements.make_statement(
        session, get_session(session, example.room_id), st.keys, actor="test", now=None
    )
    for k, number in ACCOUNTS.items():
        payments.set_bank_account(
            session, st.keys, user=example.people[k], bank="中国工商银行", account=number
        )
    return session, list(s.lines)


def _returned_xlsx(rows: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(list(payments.RETURN_COLUMNS))
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_bank_accounts_are_encrypted_and_checked(example: ClosedSession) -> None:
    session, _lines = _ready(example)
    st = example.app.extensions["expertpool"]
    row = session.execute(select(BankAccount)).scalars().first()
    assert row is not None and ACCOUNTS["A"].encode() not in row.account_enc
    with pytest.raises(ValidationFailed) as refused:
        payments.set_bank_account(
            session, st.keys, user=example.people["C"], bank="", account="12ab"
        )
    assert set(refused.value.fields or {}) == {"bank", "account"}
    assert payments.bank_account_of(session, st.keys, example.people["C"].id) is None


def test_a_batch_is_exported_read_back_and_marked_paid_from_the_returned_file(
    example: ClosedSession,
) -> None:
    session, _lines = _ready(example)
    st = example.app.extensions["expertpool"]
    staff = example.people["h_gz"]
    result = payments.create_batch(
        session,
        actor=staff,
        payer_name="广州市某人民医院",
        period_from="2026-11-01",
        period_to="2026-11-30",
    )
    assert result.batch is not None
    assert (result.lines, result.without_account) == (3, 3)  # only A, B and E gave accounts
    rows = payments.export_rows(session, st.keys, actor=staff, batch=result.batch)
    book = load_workbook(io.BytesIO(payments.to_xlsx(rows)))
    sheet = book.worksheets[0]
    read = [[c.value for c in r] for r in sheet.iter_rows()]
    assert read[0] == list(payments.EXPORT_COLUMNS)
    by_account = {r[3]: r for r in read[1:]}
    assert by_account[ACCOUNTS["E"]][4] == "1072.00"  # the remote expert's net, as text
    assert by_account[ACCOUNTS["A"]][1] == "专家甲"
    text = payments.to_csv(rows).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1:] == [[str(v) for v in r] for r in read[1:]]

    refs = [r[0] for r in read[1:]]
    returned = _returned_xlsx(
        [
            [refs[0], "paid", "BANK-001", ""],
            [refs[1], "failed", "", "账户已销户"],
            [refs[2], "paid", "BANK-003", ""],
            ["FL999999", "paid", "X", ""],
        ]
    )
    outcome = payments.import_returned(
        session, actor=staff, batch=result.batch, content=returned, filename="back.xlsx"
    )
    assert (outcome.paid, outcome.failed, len(outcome.refused)) == (2, 1, 1)
    statuses = {
        payments.reference_of(x): x.status for x in payments.batch_lines(session, result.batch.id)
    }
    assert statuses == {
        refs[0]: LineStatus.PAID,
        refs[1]: LineStatus.FAILED,
        refs[2]: LineStatus.PAID,
    }

    # The same file again changes nothing; a paid line cannot be re-marked otherwise.
    again = payments.import_returned(
        session,
        actor=staff,
        batch=result.batch,
        content=_returned_xlsx([[refs[0], "paid", "BANK-001", ""], [refs[2], "failed", "", "x"]]),
        filename="back.xlsx",
    )
    assert (again.paid, again.unchanged, len(again.refused)) == (0, 1, 1)
    with pytest.raises(ValidationFailed):
        payments.import_returned(
            session, actor=staff, batch=result.batch, content=b"a,b\n1,2\n", filename="x.csv"
        )


def test_a_paid_line_is_reversed_by_a_new_line_and_never_changed(
    example: ClosedSession,
) -> None:
    session, lines = _ready(example)
    staff = example.people["h_gz"]
    line = next(x for x in lines if x.expert_name == "专家甲")
    payments.mark_paid(session, actor=staff, line_id=line.id, reference="TRF-20261110-01")
    with pytest.raises(ValidationFailed):
        statements.request_adjustment(
            session, actor=staff, line_id=line.id, amount="-50", reason="多付了餐补"
        )
    reversal = statements.reverse_line(
        session, actor=staff, line_id=line.id, reason="多付了餐补，冲正重发", reissue=True
    )
    session.refresh(line)
    assert (line.status, line.gross_fen, line.paid_reference) == (
        LineStatus.PAID,
        110000,
        "TRF-20261110-01",
    )
    assert (reversal.kind, reversal.gross_fen, reversal.tax_fen, reversal.net_fen) == (
        LineKind.REVERSAL,
        -110000,
        -6000,
        -104000,
    )
    fresh = session.execute(
        select(FeeLine).where(
            FeeLine.user_id == line.user_id,
            FeeLine.status == LineStatus.UNPAID,
            FeeLine.kind == LineKind.FEE,
        )
    ).scalar_one()
    assert fresh.gross_fen == 110000
    with pytest.raises(Conflict):
        statements.reverse_line(
            session, actor=staff, line_id=line.id, reason="第二次冲正", reissue=False
        )
    summary = statements.year_summaries(statements.own_lines(session, line.user_id))[0]
    assert (summary.year, str(summary.net), str(summary.paid), str(summary.unpaid)) == (
        2026,
        "1040.00",
        "1040.00",
        "1040.00",
    )
