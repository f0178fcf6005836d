"""The reference-table checker: every defect reported with its rows, the rest kept."""

from __future__ import annotations

from typing import Any

from expertpool.reference.catalogue import bundled, check_tree


def _row(code: str, name: str, parent: str | None, level: int) -> dict[str, Any]:
    return {"code": code, "name": name, "parent": parent, "level": level}


def _kinds(defects: list[Any]) -> set[tuple[str, str, tuple[int, ...]]]:
    return {(d.kind, d.code, d.rows) for d in defects}


def test_the_bundled_table_has_exactly_the_two_known_defects_and_the_rest_loads() -> None:
    rows = bundled("specialties.json")
    assert len(rows) == 1743
    good, defects = check_tree(rows, prefix_rule=True)
    assert _kinds(defects) == {
        ("duplicate_code", "A040405", (155, 169)),
        ("code_not_extending_parent", "A040405", (169,)),
        ("duplicate_code", "B011305", (1106, 1117)),
        ("code_not_extending_parent", "B011305", (1117,)),
    }
    assert len(good) == 1743 - 2
    kept = {r["code"]: r for r in good}
    assert kept["A040405"]["parent"] == "A0404" and kept["B011305"]["parent"] == "B0113"


def test_the_bundled_regions_are_clean() -> None:
    good, defects = check_tree(bundled("regions-guangdong.json"), prefix_rule=False)
    assert defects == []
    assert len(good) == 23


def test_an_orphan_and_its_descendants_are_refused_with_their_rows() -> None:
    rows = [
        _row("X", "root", None, 1),
        _row("X01", "child", "X", 2),
        _row("Y01", "orphan", "Y", 2),
        _row("Y0101", "orphan's child", "Y01", 3),
    ]
    good, defects = check_tree(rows, prefix_rule=True)
    assert [r["code"] for r in good] == ["X", "X01"]
    assert _kinds(defects) == {("orphan_parent", "Y01", (3,)), ("orphan_parent", "Y0101", (4,))}
    assert "parent Y is not in the table" in str(next(d for d in defects if d.code == "Y01"))


def test_malformed_rows_are_refused_one_by_one() -> None:
    rows = [
        _row("X", "root", None, 1),
        {"code": "X01", "name": "no level", "parent": "X"},
        _row("X02", "level as text", "X", "2"),  # type: ignore[arg-type]
        "not an object",
        _row("", "empty code", "X", 2),
        _row("X03", "fine", "X", 2),
    ]
    good, defects = check_tree(rows, prefix_rule=True)
    assert [r["code"] for r in good] == ["X", "X03"]
    assert sorted(d.rows for d in defects if d.kind == "malformed_row") == [(2,), (3,), (4,), (5,)]


def test_an_ambiguous_duplicate_loads_neither_row() -> None:
    rows = [_row("X", "root", None, 1), _row("X01", "one", "X", 2), _row("X01", "two", "X", 2)]
    good, defects = check_tree(rows, prefix_rule=True)
    assert [r["code"] for r in good] == ["X"]
    assert _kinds(defects) == {("duplicate_code", "X01", (2, 3))}


def test_a_level_that_skips_is_refused() -> None:
    rows = [_row("X", "root", None, 1), _row("X0101", "too deep", "X", 3)]
    good, defects = check_tree(rows, prefix_rule=True)
    assert [r["code"] for r in good] == ["X"]
    assert _kinds(defects) == {("bad_level", "X0101", (2,))}


def test_regions_need_not_extend_their_parents_code() -> None:
    rows = [_row("440000", "广东省", None, 1), _row("440100", "广州市", "440000", 2)]
    good, defects = check_tree(rows, prefix_rule=False)
    assert len(good) == 2 and defects == []
