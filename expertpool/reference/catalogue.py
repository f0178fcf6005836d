"""Import and query reference data: the specialty classification, regions and centres."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from expertpool.accounts.models import Centre
from expertpool.core import audit
from expertpool.core.errors import ValidationFailed
from expertpool.reference.models import Region, Specialty

REQUIRED_KEYS = ("code", "name", "parent", "level")


@dataclass(frozen=True)
class Defect:
    """One problem in a reference table, with the rows involved (1-based positions)."""

    # duplicate_code | orphan_parent | code_not_extending_parent | bad_level | malformed_row
    kind: str
    code: str
    rows: tuple[int, ...]
    detail: str

    def __str__(self) -> str:
        rows = ", ".join(str(r) for r in self.rows)
        return f"{self.kind}: {self.code} (rows {rows}): {self.detail}"


@dataclass
class ImportReport:
    """What an import loaded, changed, retired and refused."""

    table: str
    loaded: int = 0
    added: int = 0
    updated: int = 0
    retired: int = 0
    defects: list[Defect] = field(default_factory=list)


def bundled(name: str) -> list[dict[str, Any]]:
    """A reference table shipped with the package."""
    text = (
        resources.files("expertpool.reference").joinpath("data", name).read_text(encoding="utf-8")
    )
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValidationFailed(f"{name} is not a JSON array")
    return data


def read_table(path: Path) -> list[dict[str, Any]]:
    """Read a table of `{code, name, parent, level}` rows from a JSON file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"cannot read {path}: {exc}") from None
    if not isinstance(data, list):
        raise ValidationFailed(f"{path} must hold a JSON array of rows")
    return data


def check_tree(
    rows: list[dict[str, Any]], *, prefix_rule: bool
) -> tuple[list[dict[str, Any]], list[Defect]]:
    """Split rows into the loadable ones and the defects (every defect reported, none fatal)."""
    defects: list[Defect] = []
    good: list[tuple[int, dict[str, Any]]] = []
    for pos, row in enumerate(rows, 1):
        if (
            not isinstance(row, dict)
            or any(k not in row for k in REQUIRED_KEYS)
            or not isinstance(row.get("code"), str)
            or not isinstance(row.get("name"), str)
            or not isinstance(row.get("level"), int)
            or not (row.get("parent") is None or isinstance(row.get("parent"), str))
            or not row["code"]
        ):
            defects.append(
                Defect(
                    "malformed_row",
                    str(row.get("code", "?")) if isinstance(row, dict) else "?",
                    (pos,),
                    "a row needs code, name, parent and level of the right types",
                )
            )
            continue
        good.append((pos, row))
    positions: dict[str, list[int]] = {}
    for pos, row in good:
        positions.setdefault(row["code"], []).append(pos)
    by_pos = dict(good)
    rejected: set[int] = set()
    # A row whose code does not extend its parent's is a defect on its own.
    if prefix_rule:
        for pos, row in good:
            parent = row["parent"]
            if parent is not None and not row["code"].startswith(parent):
                defects.append(
                    Defect(
                        "code_not_extending_parent",
                        row["code"],
                        (pos,),
                        f"{row['code']} ({row['name']}) is filed under {parent}",
                    )
                )
                rejected.add(pos)
    for code, pos_list in positions.items():
        if len(pos_list) > 1:
            names = "; ".join(
                f"row {p}: {by_pos[p]['name']} under {by_pos[p]['parent']}" for p in pos_list
            )
            defects.append(Defect("duplicate_code", code, tuple(pos_list), names))
            remaining = [p for p in pos_list if p not in rejected]
            if len(remaining) > 1:
                # Still ambiguous: load none of them rather than guess.
                rejected.update(remaining)
    accepted = {row["code"]: (pos, row) for pos, row in good if pos not in rejected}
    # Orphans (and, transitively, their descendants) cannot be placed in the tree.
    changed = True
    while changed:
        changed = False
        for code, (pos, row) in list(accepted.items()):
            parent = row["parent"]
            if parent is not None and parent not in accepted:
                defects.append(
                    Defect("orphan_parent", code, (pos,), f"parent {parent} is not in the table")
                )
                del accepted[code]
                changed = True
            elif parent is not None and row["level"] != accepted[parent][1]["level"] + 1:
                defects.append(
                    Defect(
                        "bad_level",
                        code,
                        (pos,),
                        f"level {row['level']} under a level {accepted[parent][1]['level']} parent",
                    )
                )
                del accepted[code]
                changed = True
    return [row for _pos, row in sorted(accepted.values(), key=lambda t: t[0])], defects


def load_specialties(
    session: Session, rows: list[dict[str, Any]], *, actor: str = "system"
) -> ImportReport:
    """Load (or update to a newer edition of) the specialty classification in one transaction."""
    ok_rows, defects = check_tree(rows, prefix_rule=True)
    report = ImportReport("specialties", defects=defects)
    existing = {s.code: s for s in session.execute(select(Specialty)).scalars()}
    seen = set()
    for row in ok_rows:
        seen.add(row["code"])
        current = existing.get(row["code"])
        if current is None:
            session.add(
                Specialty(
                    code=row["code"],
                    name=row["name"],
                    parent_code=row["parent"],
                    level=row["level"],
                )
            )
            report.added += 1
        elif (current.name, current.parent_code, current.level, current.is_retired) != (
            row["name"],
            row["parent"],
            row["level"],
            False,
        ):
            current.name, current.parent_code, current.level, current.is_retired = (
                row["name"],
                row["parent"],
                row["level"],
                False,
            )
            report.updated += 1
    for code, spec in existing.items():
        # Experts may hold codes that a newer edition drops: retire, never delete.
        if code not in seen and not spec.is_retired:
            spec.is_retired = True
            report.retired += 1
    report.loaded = len(ok_rows)
    audit.record(
        session,
        actor=actor,
        action="reference.load",
        object_type="specialty_table",
        object_id="specialties",
        after={
            "loaded": report.loaded,
            "added": report.added,
            "updated": report.updated,
            "retired": report.retired,
            "defects": [str(d) for d in defects],
        },
    )
    session.commit()
    return report


def load_regions(
    session: Session, rows: list[dict[str, Any]], *, actor: str = "system"
) -> ImportReport:
    """Load the regions and create one trading centre per city plus Shunde's."""
    ok_rows, defects = check_tree(rows, prefix_rule=False)
    report = ImportReport("regions", defects=defects)
    existing = {r.code: r for r in session.execute(select(Region)).scalars()}
    for row in ok_rows:
        current = existing.get(row["code"])
        if current is None:
            session.add(
                Region(
                    code=row["code"],
                    name=row["name"],
                    parent_code=row["parent"],
                    level=row["level"],
                )
            )
            report.added += 1
        elif (current.name, current.parent_code, current.level) != (
            row["name"],
            row["parent"],
            row["level"],
        ):
            current.name, current.parent_code, current.level = (
                row["name"],
                row["parent"],
                row["level"],
            )
            report.updated += 1
    report.loaded = len(ok_rows)
    session.flush()
    centres = {c.region_code: c for c in session.execute(select(Centre)).scalars()}
    for row in ok_rows:
        if row["level"] >= 2 and row["code"] not in centres:
            session.add(Centre(region_code=row["code"], name=row["name"] + "公共资源交易中心"))
    audit.record(
        session,
        actor=actor,
        action="reference.load",
        object_type="region_table",
        object_id="regions",
        after={
            "loaded": report.loaded,
            "added": report.added,
            "defects": [str(d) for d in defects],
        },
    )
    session.commit()
    return report


def search_specialties(session: Session, query: str, *, limit: int = 50) -> list[Specialty]:
    """Specialties whose code starts with, or whose name contains, the query."""
    q = query.strip()
    if not q:
        return []
    stmt = (
        select(Specialty)
        .where(
            or_(
                Specialty.code.startswith(q.upper(), autoescape=True),
                Specialty.name.contains(q, autoescape=True),
            )
        )
        .order_by(Specialty.code)
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def children(session: Session, parent: str | None) -> list[Specialty]:
    """The direct children of a code (the categories for None)."""
    stmt = select(Specialty).where(
        Specialty.parent_code.is_(None) if parent is None else Specialty.parent_code == parent
    )
    return list(session.execute(stmt.order_by(Specialty.code)).scalars())


def ancestors(session: Session, code: str) -> list[Specialty]:
    """The path from the category down to this code."""
    path: list[Specialty] = []
    node = session.get(Specialty, code)
    while node is not None:
        path.append(node)
        node = session.get(Specialty, node.parent_code) if node.parent_code else None
    return list(reversed(path))


def child_counts(session: Session, codes: list[str]) -> dict[str, int]:
    """How many children each code has."""
    if not codes:
        return {}
    rows = session.execute(
        select(Specialty.parent_code, func.count())
        .where(Specialty.parent_code.in_(codes))
        .group_by(Specialty.parent_code)
    ).all()
    return {str(p): int(n) for p, n in rows}


def cities(session: Session) -> list[Region]:
    """The regions that have a trading centre, in code order."""
    return list(
        session.execute(select(Region).where(Region.level >= 2).order_by(Region.code)).scalars()
    )


def defect_summary(defects: list[Defect]) -> Counter[str]:
    """Defects counted by kind."""
    return Counter(d.kind for d in defects)
