"""Who may pull and push what in the registry (plain domain code, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from auth.roles import in_scope

ROBOT_PURPOSES = ("builder", "promoter", "deploy")


@dataclass(frozen=True)
class Principal:
    """Someone asking for registry access: a user, a robot, or nobody (anonymous)."""

    name: str | None
    kind: str  # "user", "robot" or "anonymous"
    role: str | None = None
    patterns: tuple[str, ...] = ()
    purpose: str | None = None


@dataclass(frozen=True)
class Scope:
    """One requested or granted access: `repository:staging/acme/web:pull,push`."""

    type: str
    name: str
    actions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


@dataclass(frozen=True)
class Layout:
    """How registry repository names map to environments and source repositories."""

    staging: str
    environments: dict[str, str]  # environment name -> prefix (production included)
    images: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # image->(repo, team)
    anonymous_pull: tuple[str, ...] = ()

    def locate(self, name: str) -> tuple[str, str] | None:
        """(environment, image) of a registry repository name, or None if outside all prefixes."""
        prefixes = {"staging": self.staging, **self.environments}
        for environment, prefix in sorted(prefixes.items(), key=lambda p: -len(p[1])):
            if name.startswith(prefix + "/"):
                return environment, name.removeprefix(prefix + "/")
        return None


def parse_scope(text: str) -> Scope | None:
    """A scope parameter as the registry sends it; None if malformed."""
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        return None
    return Scope(kind, name, tuple(a for a in actions.split(",") if a))


def grant(principal: Principal, wanted: Scope, layout: Layout) -> Scope:
    """The part of `wanted` policy allows (possibly no actions; never an error)."""
    if wanted.type == "registry":
        allowed = principal.kind == "user" and principal.role == "admin" \
            and wanted.name == "catalog"
        return Scope(wanted.type, wanted.name, wanted.actions if allowed else ())
    if wanted.type != "repository":
        return Scope(wanted.type, wanted.name, ())
    actions = tuple(a for a in wanted.actions if _allows(principal, a, wanted.name, layout))
    return Scope(wanted.type, wanted.name, actions)


def _allows(principal: Principal, action: str, name: str, layout: Layout) -> bool:
    if action == "pull":
        return _may_pull(principal, name, layout)
    if action == "push":
        where = layout.locate(name)
        if where is None or principal.kind != "robot":
            return False
        wanted_purpose = "builder" if where[0] == "staging" else "promoter"
        return principal.purpose == wanted_purpose
    return False


def _may_pull(principal: Principal, name: str, layout: Layout) -> bool:
    if any(fnmatchcase(name, pattern) for pattern in layout.anonymous_pull):
        return True
    if principal.kind == "robot":
        if principal.purpose == "deploy":
            return any(fnmatchcase(name, pattern) for pattern in principal.patterns)
        return layout.locate(name) is not None
    if principal.kind != "user":
        return False
    where = layout.locate(name)
    if where is None:
        return principal.role == "admin"
    if principal.role == "admin":
        return True
    repository, team = layout.images.get(where[1], (where[1], None))
    return in_scope(list(principal.patterns), repository, team)
