"""The installed package (what the Lockmaster image runs) holds every module of the tree."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_top_level_module_is_installed():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    installed = set(project["tool"]["setuptools"]["py-modules"])
    on_disk = {path.stem for path in ROOT.glob("*.py")}
    assert on_disk == installed, "list each top-level module in pyproject's py-modules"
