"""Every command the README and docs/ show works as written: `lockmaster …` and `python -m
bench.…` / `python -m devstack …` answer `--help` with each option the page uses, `make` targets
exist, and every repository path the pages name is there. The commands are read from the pages
themselves (fenced shell blocks and inline code), so a page edit that breaks one fails here."""

from __future__ import annotations

import importlib
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
SHELL_FENCES = {"sh", "bash", "shell", "console"}
# What ends one command inside a line: a comment, a pipe, a redirection, a second command.
COMMAND_END = {"#", "|", "||", "&&", ";", "<", ">", "2>&1"}
LOCKMASTER = re.compile(r"(?:^|[\s(])(?:\.venv/bin/)?lockmaster\s+(?=[a-z])")
PYTHON_MODULE = re.compile(r"python\s+-m\s+(bench\.\w+|devstack)\b")
MAKE = re.compile(r"(?:^|[\s;&])make\s+([a-z][\w-]*)")
REPO_PATH = re.compile(r"^(?:[\w.-]+/)+[\w.-]+\.(?:py|yml|yaml|cfg|json|md|txt|png)$")


def _snippets() -> list[tuple[str, str]]:
    """(page, text) for every line of a shell fence and every inline code span of the pages."""
    found = []
    for page in PAGES:
        text = page.read_text()
        for language, body in FENCE.findall(text):
            if language in SHELL_FENCES:
                found += [(page.name, re.sub(r"\s#.*", "", line)) for line in body.splitlines()]
        prose = FENCE.sub("", text)
        found += [(page.name, span) for span in INLINE.findall(prose)]
    return found


def _words(text: str) -> list[str]:
    """The words of one command, up to where the command ends; `[--x]` counts as `--x`."""
    try:
        words = shlex.split(text, comments=False)
    except ValueError:  # an inline span may hold half a quote: take it word by word
        words = text.split()
    kept = []
    for word in words:
        if word in COMMAND_END or word.startswith("#"):
            break
        kept.append(word.rstrip(";").strip("[]"))
        if word.endswith(";"):
            break
    return kept


def _options(words: list[str]) -> list[str]:
    """The option names among the words: `--a|--b` gives both, `--a=x` gives `--a`."""
    names = []
    for word in words:
        for part in word.split("|"):
            part = part.strip("[]")
            if part.startswith("-") and len(part) > 1 and part != "--help":
                names.append(part.split("=")[0])
    return names


def _cases(pattern: re.Pattern) -> list[tuple[str, str]]:
    """(page, the command's text from the match on) for every documented use of `pattern`."""
    cases = []
    for page, snippet in _snippets():
        for match in pattern.finditer(snippet):
            cases.append((page, snippet[match.start():].strip()))
    return sorted(set(cases))


@cache
def _cli() -> click.Command:
    """The `lockmaster` command as pyproject's entry point names it."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, attribute = scripts["lockmaster"].partition(":")
    return getattr(importlib.import_module(module), attribute)


def _commands(words: list[str]) -> list[list[str]]:
    """Every command path the words name (`users add|list` names two), each to a leaf or group."""
    paths: list[list[str]] = [[]]
    for word in words:
        if word.startswith("-"):
            break
        grown = []
        for path in paths:
            command = _cli()
            for name in path:
                command = command.commands[name]
            if not isinstance(command, click.Group):
                grown.append(path)
                continue
            for name in word.split("|"):
                named = " ".join([*path, name])
                assert name in command.commands, f"`lockmaster {named}` does not exist"
                grown.append([*path, name])
        paths = grown
        if all(not isinstance(_resolve(path), click.Group) for path in paths):
            break
    return paths


def _resolve(path: list[str]) -> click.Command:
    command = _cli()
    for name in path:
        command = command.commands[name]
    return command


def test_the_pages_document_commands():
    """The extraction finds what the pages show (a page that loses them all is a mistake too)."""
    assert len(_cases(LOCKMASTER)) > 40
    modules = {PYTHON_MODULE.search(command).group(1) for _page, command in _cases(PYTHON_MODULE)}
    assert modules >= {"bench.webhook_intake", "bench.pipeline_overhead", "bench.provenance"}
    assert {"run", "test"} <= {MAKE.search(c).group(1) for _page, c in _cases(MAKE)}


@pytest.mark.parametrize(("page", "command"), _cases(LOCKMASTER))
def test_lockmaster_command_answers_help_with_its_options(page, command):
    words = _words(LOCKMASTER.sub("", command, count=1))
    for path in _commands(words):
        leaf = _resolve(path)
        result = CliRunner().invoke(_cli(), [*path, "--help"], prog_name="lockmaster")
        named = " ".join(path)
        assert result.exit_code == 0, f"{page}: `lockmaster {named} --help`: {result.output}"
        if isinstance(leaf, click.Group):
            continue
        known = {name for param in leaf.params for name in (*param.opts, *param.secondary_opts)}
        for option in _options(words[len(path):]):
            assert option in known, f"{page}: `lockmaster {' '.join(path)}` has no option {option}"


@cache
def _help(argv: tuple[str, ...]) -> tuple[int, str]:
    """`python ARGV --help` in a process of its own, as a reader would run it."""
    done = subprocess.run([sys.executable, *argv, "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize(("page", "command"), _cases(PYTHON_MODULE))
def test_python_module_answers_help_with_its_options(page, command):
    module = PYTHON_MODULE.search(command).group(1)
    words = _words(command[PYTHON_MODULE.search(command).end():])
    argv = ("-m", module)
    if module == "devstack" and words and not words[0].startswith("-"):
        argv += (words.pop(0),)  # a devstack subcommand
    returncode, output = _help(argv)
    assert returncode == 0, f"{page}: `python {' '.join(argv)} --help`: {output[-2000:]}"
    for option in _options(words):
        assert option in output, f"{page}: `python -m {module}` has no option {option}"


@pytest.mark.parametrize(("page", "command"), _cases(MAKE))
def test_make_target_exists(page, command):
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    target = MAKE.search(command).group(1)
    assert target in targets, f"{page}: `make {target}` is not a target of the Makefile"


def test_repository_paths_the_pages_name_exist():
    missing = []
    for page, snippet in _snippets():
        for word in snippet.split():
            word = word.strip("`'\"(),:;")
            outside = word.startswith(("/", "http", "var/", ".lockmaster/"))
            if REPO_PATH.match(word) and not outside and not (ROOT / word).exists() \
                    and not (ROOT / "docs" / word).exists():
                missing.append(f"{page}: {word}")
    assert not missing, "paths named in the docs that do not exist:\n" + "\n".join(missing)


def test_benchmarks_are_documented_as_modules():
    """`python bench/x.py` puts bench/ first on sys.path, where a bench module's name can hide a
    product package; the pages say `python -m bench.x`."""
    as_scripts = [f"{page}: {snippet}" for page, snippet in _snippets()
                  if re.search(r"python\S*\s+bench/\w+\.py", snippet)]
    assert not as_scripts, "run benchmarks as `python -m bench.NAME`:\n" + "\n".join(as_scripts)


def test_readme_fits_on_a_few_screens():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    assert [n for n, line in enumerate(lines, 1) if len(line) > 100] == []


def test_lockmaster_yml_examples_are_valid():
    """Every `lockmaster.yml` example the pages show passes the same validation as a start-up."""
    from config import parse_config

    top_level = re.compile(r"^(registry|repositories|checks|api|web|webhooks|gc|retention|"
                           r"signing|buildkit):", re.M)
    examples = [(page.name, body) for page in PAGES for language, body in FENCE.findall(
        page.read_text()) if language in {"yaml", "yml"} and top_level.match(body)]
    assert len(examples) >= 4
    for page, body in examples:
        parse_config(body, page)
