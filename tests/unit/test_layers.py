"""Every top-level package sits in exactly one layer of the import contracts (pyproject.toml),
so a new package cannot slip past `lint-imports` unchecked."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE_THE_PRODUCT = {"tests", "bench", "docs", "scripts"}


def _contracts() -> tuple[dict, dict[str, dict]]:
    linter = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return linter, {c["id"]: c for c in linter["contracts"]}


def _top_level() -> set[str]:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - OUTSIDE_THE_PRODUCT
    return packages | {p.stem for p in ROOT.glob("*.py")}


def _members(layers: list[str]) -> list[str]:
    # "(app)": optional, since import-linter sees app.py only when something imports it.
    return [name.strip().strip("()") for layer in layers
            for name in layer.replace("|", ":").split(":")]


def test_each_top_level_package_is_in_exactly_one_layer():
    _, contracts = _contracts()
    for contract in ("layers", "package-order"):
        members = _members(contracts[contract]["layers"])
        assert sorted(members) == sorted(set(members)), contract
        assert set(members) == _top_level(), contract


def test_every_package_is_analysed_and_checked_for_cycles():
    linter, contracts = _contracts()
    modules = {p.stem for p in ROOT.glob("*.py")}
    # import-linter reads packages only: app.py, which nothing imports, is the one exception.
    assert modules == {"app"}, f"make {sorted(modules - {'app'})} packages (name/__init__.py)"
    assert set(linter["root_packages"]) == _top_level() - modules
    assert set(contracts["no-cycles"]["ancestors"]) == _top_level() - modules


def test_at_most_five_ignored_imports():
    _, contracts = _contracts()
    ignored = {i for c in contracts.values() for i in c.get("ignore_imports", [])}
    assert len(ignored) <= 5
