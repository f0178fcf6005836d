"""What each department field covers and which regions a department's region covers (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from expertpool.departments.models import DepartmentField

DATA_FILE = "departments-guangdong.json"


@dataclass(frozen=True)
class FieldCoverage:
    """The specialties whose applications a field reviews and the project kinds it supervises."""

    name: str
    specialty_prefixes: tuple[str, ...]
    project_kinds: frozenset[str]

    def reviews(self, specialty_codes: Iterable[str]) -> bool:
        """Whether an application holding these specialty codes falls under this field."""
        return any(code.startswith(self.specialty_prefixes) for code in specialty_codes)


def bundled() -> dict[str, Any]:
    """The department table shipped with the package (fields, provincial and city departments)."""
    text = resources.files("expertpool.departments").joinpath("data", DATA_FILE).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def coverage() -> dict[DepartmentField, FieldCoverage]:
    """Each field's coverage, from the bundled table."""
    fields = bundled()["fields"]
    return {
        DepartmentField(key): FieldCoverage(
            name=value["name"],
            specialty_prefixes=tuple(value["specialty_prefixes"]),
            project_kinds=frozenset(value["project_kinds"]),
        )
        for key, value in fields.items()
    }


def region_covers(department_region: str, target: str | None) -> bool:
    """Whether a department of `department_region` covers `target` (GB/T 2260 codes).

    A province (`440000`) covers every code of the province, a city (`440100`) its districts; a
    target without a region (an expert who gave none) falls only under the province.
    """
    if department_region.endswith("0000"):
        return target is None or target[:2] == department_region[:2]
    if target is None:
        return False
    if department_region.endswith("00"):
        return target[:4] == department_region[:4]
    return target == department_region
