"""How the test suite is laid out: one folder per capability, mirroring the packages of
src/calcard (``dav`` for the Radicale adapter in plugins/); test modules share code through
helpers.py, browser.py and conftest.py, never by importing one another (importing a test
module runs its module-level setup in another module and lets pytest collect its fixtures
twice)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent
IGNORED = {"fixtures", "artifacts", "__pycache__", ".hypothesis"}


def imported_modules(path: Path) -> set[str]:
    """The top-level names of every module ``path`` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_no_test_module_imports_another():
    offenders = {
        path.name: sorted(m for m in imported_modules(path) if m.startswith("test_"))
        for path in sorted(TESTS.rglob("*.py"))
    }
    offenders = {name: mods for name, mods in offenders.items() if mods}
    assert offenders == {}, "move what they share to tests/helpers.py or conftest.py"


def test_test_folders_mirror_the_packages():
    packages = {p.parent.name for p in (TESTS.parent / "src" / "calcard").glob("*/__init__.py")}
    modules = {p.stem for p in (TESTS.parent / "src" / "calcard").glob("*.py")}
    folders = {p.name for p in TESTS.iterdir() if p.is_dir() and p.name not in IGNORED}
    assert folders - packages - modules - {"dav"} == set()
    assert [p.name for p in TESTS.glob("test_*.py")] == ["test_layout.py"], "tests go in a folder"
