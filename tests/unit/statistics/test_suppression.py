"""Small-cell suppression: no hidden cell can be rebuilt from what is published."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from expertpool.statistics.suppression import Published, publish


def _compositions(total: int, parts: int) -> list[tuple[int, ...]]:
    """Ways to write `total` as `parts` numbers of at least 1."""
    if parts == 0:
        return [()] if total == 0 else []
    return [
        (first, *rest)
        for first in range(1, total - parts + 2)
        for rest in _compositions(total - first, parts - 1)
    ]


def feasible_values(table: Published) -> dict[tuple[int, int], set[int]]:
    """Every value each hidden cell takes over all fillings consistent with the published cells
    and totals, knowing (as an attacker reading the rules does) that hidden cells are at least 1
    (zeros are never hidden). Rows are filled one by one from their totals."""
    limit = table.total if table.total is not None else 12
    per_row: list[list[tuple[int, ...]]] = []
    hidden_in_row: list[list[int]] = []
    for i, row in enumerate(table.cells):
        js = [j for j, v in enumerate(row) if v is None]
        hidden_in_row.append(js)
        known = sum(v for v in row if v is not None)
        if table.row_totals[i] is not None:
            per_row.append(_compositions(table.row_totals[i] - known, len(js)))
        else:
            per_row.append(list(itertools.product(range(1, limit + 1), repeat=len(js))))
    seen: dict[tuple[int, int], set[int]] = {c: set() for c in table.hidden}
    for choice in itertools.product(*per_row):
        full = [[v or 0 for v in row] for row in table.cells]
        for i, values in enumerate(choice):
            for j, v in zip(hidden_in_row[i], values, strict=True):
                full[i][j] = v
        if table.total is not None and sum(map(sum, full)) != table.total:
            continue
        if table.column_totals is not None and any(
            t is not None and sum(r[j] for r in full) != t
            for j, t in enumerate(table.column_totals)
        ):
            continue
        for i, values in enumerate(choice):
            for j, v in zip(hidden_in_row[i], values, strict=True):
                seen[(i, j)].add(v)
    return seen


small_tables = st.integers(1, 3).flatmap(
    lambda rows: st.integers(1, 3).flatmap(
        lambda cols: st.lists(
            st.lists(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6]), min_size=cols, max_size=cols),
            min_size=rows,
            max_size=rows,
        )
    )
)


def _publish(values: list[list[int]], column_totals: bool) -> Published:
    rows = [f"r{i}" for i in range(len(values))]
    cols = [f"c{j}" for j in range(len(values[0]))]
    return publish(rows, cols, values, column_totals=column_totals)


@settings(max_examples=60, deadline=None)
@given(small_tables, st.booleans())
def test_no_hidden_cell_is_recoverable_from_the_totals(
    values: list[list[int]], column_totals: bool
) -> None:
    table = _publish(values, column_totals)
    if len(table.hidden) > 4 or (table.total is None and len(table.hidden) > 3):
        return  # the brute force stays small
    for cell, possible in feasible_values(table).items():
        assert len(possible) >= 2, (values, cell, possible, table)


@settings(max_examples=60, deadline=None)
@given(small_tables, st.booleans())
def test_every_cell_under_five_is_hidden_and_others_are_exact(
    values: list[list[int]], column_totals: bool
) -> None:
    table = _publish(values, column_totals)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            shown = table.cells[i][j]
            if 0 < v < 5:
                assert shown is None
            else:
                assert shown in (None, v)
            if v == 0:
                assert shown == 0


def test_a_lone_small_cell_in_a_row_takes_a_complement() -> None:
    table = _publish([[3, 9, 12], [7, 8, 10]], True)
    # (0,0) alone could be rebuilt from row 0's total: a second cell in its row and a cycle
    # through the second row are hidden.
    assert (0, 0) in table.hidden
    assert len(table.hidden) == 4
    assert table.row_totals == (24, 25)


def test_a_one_dimensional_series_hides_two_cells_or_none() -> None:
    table = _publish([[2, 30, 7, 40]], False)
    assert table.hidden == {(0, 0), (0, 2)}
    assert table.total == 79


def test_a_single_small_cell_hides_the_grand_total_too() -> None:
    table = _publish([[0, 3, 0]], False)
    assert table.total is None
