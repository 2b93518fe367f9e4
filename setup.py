"""Build hook: the wheel carries the web calendar's npm packages (issue 18).

Everything else about the package is in pyproject.toml. Building runs ``npm ci``
when the source tree has no node_modules yet, then copies the browser builds that
src/calcard/web/ui/vendor.json names (with their licences) into the built package,
laid out as in node_modules, so an installed calcard needs no source tree and no npm.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
UI = Path("calcard/web/ui")


class BuildPyWithVendor(build_py):
    """build_py, then the vendor files into build/lib (and so into the wheel)."""

    def run(self) -> None:
        super().run()
        node_modules = ROOT / "node_modules"
        if not (node_modules / "fullcalendar").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
        target = Path(self.build_lib) / UI / "vendor"
        packages = json.loads((ROOT / "src" / UI / "vendor.json").read_text())["packages"]
        for package in packages:
            source = node_modules / package["directory"]
            for name in package["scripts"]:
                _copy(source / name, target / package["directory"] / name)
            top = node_modules / package["directory"].split("/build/")[0]
            for licence in top.glob("LICENSE*"):
                _copy(licence, target / package["directory"] / licence.name)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildPyWithVendor})
