"""Small-cell suppression of published count tables, with complementary suppression.

A table is a grid of counts published with its row totals, its column totals (when
`column_totals` is set; a one-dimensional breakdown publishes only the row total) and the grand
total. Every cell from 1 to `threshold - 1` is hidden (primary suppression). A hidden cell can
still be rebuilt from the totals when it is the only hidden one of a row, or more generally when
it is a *bridge* of the graph whose vertices are the published totals and whose edges are the
hidden cells: cutting a bridge splits the totals in two, and the sum over one side gives its
value. Since zeros are never hidden, a reader knows every hidden cell is at least 1, so a cell is
safe only when it can move by one (up, or down when it is 2 or more) along a cycle of hidden cells
whose compensating moves keep every total and every cell at least 1. Complementary suppression
hides more cells, the smallest that free an exposed one first, until no hidden cell is fixed by
the totals; if none is left to hide, the whole grid is hidden and only the grand total is kept.

Pure: no database, no Flask. `tests/unit/statistics/test_suppression.py` checks by brute force
that no hidden cell has a single value consistent with the published totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 5

Cell = tuple[int, int]
FREE = ("free", 0)  # the vertex of the unpublished column totals: no constraint holds there


@dataclass(frozen=True)
class Published:
    """A table as it may be shown: a cell is None when hidden; totals are always exact."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: tuple[tuple[int | None, ...], ...]
    row_totals: tuple[int | None, ...]
    column_totals: tuple[int | None, ...] | None
    total: int | None

    @property
    def hidden(self) -> frozenset[Cell]:
        """The positions of the hidden cells."""
        return frozenset(
            (i, j) for i, row in enumerate(self.cells) for j, v in enumerate(row) if v is None
        )


def _vertices(cell: Cell, column_totals: bool) -> tuple[tuple[str, int], tuple[str, int]]:
    i, j = cell
    return ("row", i), (("col", j) if column_totals else FREE)


def _can_move(
    cell: Cell,
    sign: int,
    hidden: set[Cell],
    values: Sequence[Sequence[int]],
    column_totals: bool,
) -> bool:
    """Whether the hidden `cell` can move by `sign` with every published total kept and every
    hidden cell staying at least 1: a walk of compensating moves, alternating in sign at each
    published total, from the cell's row back to its column (or into the free vertex)."""
    if sign < 0 and values[cell[0]][cell[1]] < 2:
        return False
    start, target = _vertices(cell, column_totals)
    if target == FREE and start == FREE:
        return True
    adjacent: dict[tuple[str, int], list[tuple[Cell, tuple[str, int]]]] = {}
    for other in hidden - {cell}:
        a, b = _vertices(other, column_totals)
        adjacent.setdefault(a, []).append((other, b))
        adjacent.setdefault(b, []).append((other, a))
    # state: (vertex, sign of the move the next edge must make to balance it)
    frontier = [(start, -sign)]
    seen = set(frontier)
    while frontier:
        vertex, need = frontier.pop()
        for other, nxt in adjacent.get(vertex, []):
            if need < 0 and values[other[0]][other[1]] < 2:
                continue
            if nxt == target and need == -sign:
                return True
            if nxt == FREE:
                if target == FREE:
                    return True
                states = [(FREE, 1), (FREE, -1)]
            else:
                states = [(nxt, -need)]
            for state in states:
                if state not in seen:
                    seen.add(state)
                    frontier.append(state)
    return False


def recoverable(
    hidden: set[Cell], values: Sequence[Sequence[int]], column_totals: bool
) -> list[Cell]:
    """The hidden cells whose value the published totals fix (no move up or down keeps them
    all), sorted; an attacker knows that hidden cells are at least 1."""
    return [cell for cell in sorted(hidden) if _is_fixed(cell, hidden, values, column_totals)]


def _is_fixed(
    cell: Cell, hidden: set[Cell], values: Sequence[Sequence[int]], column_totals: bool
) -> bool:
    return not _can_move(cell, 1, hidden, values, column_totals) and not _can_move(
        cell, -1, hidden, values, column_totals
    )


def suppress(
    values: Sequence[Sequence[int]], *, column_totals: bool = True, threshold: int = THRESHOLD
) -> set[Cell]:
    """The cells to hide: primary (1 to threshold-1) and complementary, so that none can be
    rebuilt from the published totals."""
    n_rows = len(values)
    n_cols = len(values[0]) if n_rows else 0
    hidden = {(i, j) for i in range(n_rows) for j in range(n_cols) if 0 < values[i][j] < threshold}
    everything = {(i, j) for i in range(n_rows) for j in range(n_cols) if values[i][j] > 0}
    while True:
        exposed = recoverable(hidden, values, column_totals)
        if not exposed:
            return hidden
        i0, j0 = exposed[0]
        candidates = sorted(
            (values[i][j] < 2, values[i][j], i != i0 and j != j0, i, j)
            for (i, j) in everything - hidden
        )
        if not candidates:
            return everything  # nothing more to hide: the grid goes, the grand total stays
        # the smallest cell that frees the exposed one, else the smallest on its row or column
        for *_, i, j in candidates:
            if not _is_fixed((i0, j0), hidden | {(i, j)}, values, column_totals):
                hidden.add((i, j))
                break
        else:
            *_, i, j = candidates[0]
            hidden.add((i, j))


def publish(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[int]],
    *,
    column_totals: bool = True,
    threshold: int = THRESHOLD,
) -> Published:
    """The table with its small cells and their complements hidden, and its exact totals (when
    the whole grid had to be hidden, only the grand total is kept, and not even that for a
    single cell)."""
    hidden = suppress(values, column_totals=column_totals, threshold=threshold)
    grid_hidden = bool(recoverable(hidden, values, column_totals))
    cells = tuple(
        tuple(None if (i, j) in hidden else v for j, v in enumerate(row))
        for i, row in enumerate(values)
    )
    grand = sum(sum(r) for r in values)
    row_totals = tuple(None if grid_hidden else sum(r) for r in values)
    col_totals: tuple[int | None, ...] | None = None
    if column_totals:
        col_totals = tuple(
            None if grid_hidden else sum(r[j] for r in values) for j in range(len(columns))
        )
    return Published(
        tuple(rows),
        tuple(columns),
        cells,
        row_totals,
        col_totals,
        # one hidden cell is its own grand total; n cells of 1 each add up to n
        None if grid_hidden and (len(hidden) < 2 or grand <= len(hidden)) else grand,
    )
