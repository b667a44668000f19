"""Robot accounts: deploy robots made by admins, and Lockmaster's own builder and promoter."""

from __future__ import annotations

import os
import secrets
from contextlib import suppress
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from auth.credentialchanges import NotForgotten, forget
from auth.tokens import hash_token
from config import Settings
from record.db import Database
from record.models import utcnow
from record.registry_access import Robot
from registry.signing import locked
from registry.tokenservice import ROBOT_PREFIX

OWN = {"builder": "lockmaster-builder", "promoter": "lockmaster-promoter"}


class RobotError(Exception):
    """A robot command that cannot be done; the message says why."""


def new_token() -> str:
    """A fresh robot token (shown once)."""
    return ROBOT_PREFIX + secrets.token_urlsafe(32)


def create_robot(db: Database, name: str, pull: list[str]) -> str:
    """Create a deploy robot that may pull the given patterns; returns its token."""
    if name in OWN.values():
        raise RobotError(f"'{name}' is Lockmaster's own robot; choose another name")
    if not pull:
        raise RobotError("a deploy robot needs at least one --pull pattern, e.g. "
                         "'production/acme/*'")
    token = new_token()
    try:
        with db.session() as session:
            session.add(Robot(name=name, purpose="deploy", pull=pull,
                              token_hash=hash_token(token)))
    except IntegrityError as exc:
        raise RobotError(f"a robot named '{name}' already exists") from exc
    return token


def revoke_robot(db: Database, name: str) -> None:
    """Revoke a robot: its token stops getting registry tokens at once."""
    with db.session() as session:
        robot = session.scalar(select(Robot).where(Robot.name == name))
        if robot is None:
            raise RobotError(f"no robot named '{name}'; see `lockmaster robots list`")
        robot.revoked_at = robot.revoked_at or utcnow()


def all_robots(db: Database) -> list[Robot]:
    """Every robot, by name."""
    with db.session() as session:
        return list(session.scalars(select(Robot).order_by(Robot.name)))


def own_credentials(settings: Settings, db: Database, purpose: str) -> tuple[str, str] | None:
    """(name, token) of Lockmaster's builder or promoter robot; None when auth is off."""
    if settings.registry.auth != "token":
        return None
    name = OWN[purpose]
    path = robot_dir(settings.data_dir) / f"{name}.token"
    with locked(robot_dir(settings.data_dir)), db.session() as session:
        robot = session.scalar(select(Robot).where(Robot.name == name))
        token = path.read_text().strip() if path.exists() else ""
        if robot and robot.revoked_at is None and robot.token_hash == hash_token(token):
            return name, token
        token = new_token()
        if robot is None:
            robot = Robot(name=name, purpose=purpose, pull=[], token_hash="")
            session.add(robot)
        robot.token_hash, robot.revoked_at = hash_token(token), None
        _write_secret(path, token)
    # The old token may be remembered by the token service; a Redis that is down forgets it
    # within a minute anyway.
    with suppress(NotForgotten):
        forget(settings.redis_url, [f"robot:{name}"])
    return name, token


def robot_dir(data_dir: Path) -> Path:
    """Where Lockmaster's own robots keep their tokens: beside, not with, the token service's
    signing keys, so a worker's disk need not hold those keys (see docker-compose.yml)."""
    return data_dir / "robots"


def _write_secret(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    temporary.replace(path)
