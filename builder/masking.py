"""What a build never shows: secret values, credentials in URLs, notification paths.

Plain rules. `Masker` masks one completed line at a time: the values registered with it (the
installation's own secrets, a build's secrets, signing keys, as they are added), whatever the
secrets gate's patterns recognise, and the credentials of any URL.
"""

from __future__ import annotations

from collections.abc import Iterable

from builder.checks.masking import find_secrets, mask
from ops.urlsecrets import MIN_SECRET_CHARS, url_secrets, without_credentials


class Masker:
    """Masks known secret values, the secrets gate's patterns and URL credentials in text."""

    def __init__(self, values: Iterable[str] = ()):
        self.values: set[str] = set()
        self._longest_first: list[str] = []
        for value in values:
            self.add(value)

    def add(self, value: str | None, min_chars: int = 1) -> None:
        """Mask `value` from now on (a build secret, a signing key…); values shorter than
        min_chars are ignored. A value of several lines (a PEM key) is masked line by line,
        as the log is."""
        if value and "\n" in value.strip():
            for line in value.strip().splitlines():
                self.add(line.strip(), max(min_chars, MIN_SECRET_CHARS))
            return
        if value and len(value) >= min_chars and value not in self.values:
            self.values.add(value)
            self._longest_first = sorted(self.values, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        """The line with every secret masked."""
        for hit in find_secrets(line) if _may_hold_pattern(line) else ():
            for value in hit.values:
                self.add(value)
        for value in self._longest_first:
            if value in line:
                line = line.replace(value, mask(value))
        return without_credentials(line) if ("@" in line or "/" in line) else line


def _may_hold_pattern(line: str) -> bool:
    """Cheap pre-test: every pattern of the secrets gate needs a run of 16 token characters."""
    return len(line) >= 16


def installation_secrets(environ: dict[str, str], names: Iterable[str]) -> set[str]:
    """The values of the installation's secret variables (those named by secret_env settings
    and Lockmaster's own) that are long enough to mask, plus passwords in service URLs."""
    own = ("LOCKMASTER_SECRET_KEY", "LOCKMASTER_TOKEN")
    values = {environ.get(name, "") for name in (*own, *names)}
    for name in ("LOCKMASTER_DATABASE_URL", "LOCKMASTER_REDIS_URL"):
        values |= url_secrets(environ.get(name, ""))
    return {value for value in values if len(value) >= MIN_SECRET_CHARS}
