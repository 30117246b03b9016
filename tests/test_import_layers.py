"""Imports flow one way: layersadmin (the base) <- projects <- creatives <- sync <- webhooks
<- alerts <- digests.

Every import counts, the function-local ones too (they were how ``projects`` and ``creatives``
used to reach each other). Migrations are history and left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each package and the packages above it, which it must never import.
LAYERS = ["layersadmin", "projects", "creatives", "sync", "webhooks", "alerts", "digests"]
# The site's configuration names every app by design.
PROJECT_LEVEL = {"layersadmin/settings.py", "layersadmin/urls.py"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def modules_of(package: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts and path.relative_to(ROOT).as_posix() not in PROJECT_LEVEL
    ]


@pytest.mark.parametrize("package", LAYERS)
def test_no_package_imports_one_above_it(package):
    above = set(LAYERS[LAYERS.index(package) + 1 :])
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & above)
        for path in modules_of(package)
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_a_function_local_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from creatives.services import x\n    import sync.tasks\n")
    assert imported_packages(module) == {"creatives", "sync"}
