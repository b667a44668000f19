"""Managing users: create, change password, role and scope, link Git identities, look up."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from auth.roles import ROLES
from record.accounts import Identity, User
from record.db import Database

MIN_PASSWORD = 10
# Compared against when the user does not exist, so a miss costs as much as a wrong password.
_DUMMY_HASH = generate_password_hash("lockmaster-no-such-user")


class UserError(Exception):
    """A user command that cannot be done; the message says why and what to do."""


def one_time_password() -> str:
    """A random password to hand to a person once."""
    return secrets.token_urlsafe(15)


def check_password_strength(password: str) -> None:
    """Refuse passwords too short to be worth hashing."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters long")


def add_user(db: Database, username: str, role: str, repositories: list[str], password: str,
             must_change: bool = False) -> User:
    """Create a user; refuses unknown roles and taken names."""
    if role not in ROLES:
        raise UserError(f"unknown role '{role}'; use one of {', '.join(ROLES)}")
    check_password_strength(password)
    user = User(username=username, role=role, repositories=repositories,
                password_hash=generate_password_hash(password), must_change_password=must_change)
    try:
        with db.session() as session:
            session.add(user)
    except IntegrityError as exc:
        raise UserError(f"a user named '{username}' already exists") from exc
    return user


def set_password(db: Database, username: str, password: str) -> None:
    """Replace a user's password."""
    check_password_strength(password)
    with db.session() as session:
        user = _get(session, username)
        user.password_hash = generate_password_hash(password)
        user.must_change_password = False


def set_access(db: Database, username: str, role: str | None = None,
               repositories: list[str] | None = None) -> User:
    """Change a user's role and/or repository scope (None leaves that one as it is)."""
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role '{role}'; use one of {', '.join(ROLES)}")
    with db.session() as session:
        user = _get(session, username)
        if role is not None:
            user.role = role
        if repositories is not None:
            user.repositories = repositories
        return user


def link(db: Database, username: str, identities: list[tuple[str, str]]) -> None:
    """Link Git host identities (kind, value) to a user."""
    try:
        with db.session() as session:
            user = _get(session, username)
            for kind, value in identities:
                user.identities.append(Identity(kind=kind, value=value))
    except IntegrityError as exc:
        raise UserError("one of these identities is already linked to a user") from exc


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user if the password is right, else None."""
    with db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def all_users(db: Database) -> list[User]:
    """Every user, by name."""
    with db.session() as session:
        return list(session.scalars(select(User).order_by(User.username)))


def _get(session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserError(f"no user named '{username}'; see `lockmaster users list`")
    return user
