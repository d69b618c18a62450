"""The layers point one way: ui -> runtime -> store -> domain. This test keeps it so."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "jobdesk"

FORBIDDEN = {
    "domain": ("peewee", "PySide6", "jobdesk.store", "jobdesk.runtime", "jobdesk.ui",
               "jobdesk.devices", "asyncssh"),
    "store": ("PySide6", "jobdesk.runtime", "jobdesk.ui", "jobdesk.devices", "asyncssh"),
    "runtime": ("PySide6", "jobdesk.ui"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    offences = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[layer]):
                offences.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offences == []
