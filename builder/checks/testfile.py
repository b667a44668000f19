"""The repository's regression tests file (`.lockmaster/tests.yml`), read and validated."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from config import ConfigError, LineLoader, MappingReader
from config.gates import GATES

KINDS = ("command", "structure", "service")
_TEST_KEYS = {"name", *KINDS, "exit_code", "output", "output_not", "timeout_seconds"}
_STRUCTURE_KEYS = {"exists", "absent", "contents", "env", "labels", "user", "workdir",
                   "exposed_ports"}
_SERVICE_KEYS = {"port", "command", "wait", "requests"}
_REQUEST_KEYS = {"path", "status", "body"}
# `tests:` is the list of tests; as a mapping it would be an attempt to configure the gate.
_GATE_WORDS = {"checks", "gates", *GATES} - {"tests"}


@dataclass(frozen=True)
class RegressionTest:
    """One test the repository declares: a command, a structure or a service test."""

    name: str
    kind: str
    spec: dict
    exit_code: int = 0
    output: tuple[str, ...] = ()
    output_not: tuple[str, ...] = ()
    timeout_seconds: int | None = None


@dataclass
class TestsFile:
    """The declared tests, plus what the file tried to do that it may not (ignored)."""

    tests: list[RegressionTest] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def parse_tests_file(text: str, source: str) -> TestsFile:
    """Read a tests file; keys that try to change server gates are ignored and listed."""
    try:
        document = yaml.load(text, Loader=LineLoader) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: the file must be a mapping with a 'tests' list")
    gate_keys = [k for k, v in document.items()
                 if k in _GATE_WORDS or (k == "tests" and isinstance(v, dict))]
    ignored = [f"'{k}' (line {document.lines.get(k)})" for k in gate_keys]
    kept = type(document)({k: v for k, v in document.items() if k not in gate_keys})
    kept.lines, kept.line = document.lines, document.line
    top = MappingReader(source, kept, "the tests file", {"tests"})
    tests = [_test(source, item, n) for n, item in enumerate(top.get("tests", list, []))]
    return TestsFile(tests, ignored)


def _test(source: str, item: object, index: int) -> RegressionTest:
    reader = MappingReader(source, item, f"tests[{index}]", _TEST_KEYS)
    kinds = [k for k in KINDS if k in reader.mapping]
    if len(kinds) != 1:
        raise ConfigError(f"{source}: tests[{index}] needs exactly one of "
                          f"{', '.join(KINDS)}")
    kind = kinds[0]
    spec = reader.mapping[kind]
    if kind == "command":
        if not isinstance(spec, str | list):
            reader.fail("command", "must be a string (run by /bin/sh) or a list")
    else:
        allowed = _STRUCTURE_KEYS if kind == "structure" else _SERVICE_KEYS
        spec = dict(MappingReader(source, spec, f"tests[{index}].{kind}", allowed).mapping)
    if kind == "service":
        _service(source, spec, index)
    return RegressionTest(
        name=reader.get("name", str, f"{kind} test {index + 1}"), kind=kind, spec=spec,
        exit_code=reader.get("exit_code", int, 0), output=reader.strings("output", ()),
        output_not=reader.strings("output_not", ()),
        timeout_seconds=reader.get("timeout_seconds", int))


def _service(source: str, spec: dict, index: int) -> None:
    where = f"tests[{index}].service"
    reader = MappingReader(source, spec, where, _SERVICE_KEYS)
    port = reader.get("port", int, required=True)
    if not 1 <= port <= 65535:
        reader.fail("port", "must be a TCP port from 1 to 65535")
    if reader.get("wait", str, "port") not in ("port", "healthy"):
        reader.fail("wait", "must be 'port' or 'healthy'")
    for n, request in enumerate(reader.get("requests", list, [])):
        MappingReader(source, request, f"{where}.requests[{n}]", _REQUEST_KEYS)
