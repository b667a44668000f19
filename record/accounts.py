"""SQLAlchemy models of people and access: users, linked Git identities, API tokens."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from record.models import Base, utcnow


class User(UserMixin, Base):
    """A person who logs in: role, repository scope, password hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    repositories: Mapped[list] = mapped_column(JSON, default=list)
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    identities: Mapped[list[Identity]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan")

    @property
    def identity_values(self) -> frozenset[str]:
        """Linked Git usernames and emails, lower-cased."""
        return frozenset(i.value.lower() for i in self.identities if not i.is_account)

    @property
    def accounts(self) -> frozenset[str]:
        """Linked Git host account ids as 'host:id', and 'lockmaster:<name>' (builds by hand)."""
        return frozenset({f"{i.kind.removesuffix('-id')}:{i.value.lower()}"
                          for i in self.identities if i.is_account}
                         | {f"lockmaster:{self.username.lower()}"})


class Identity(Base):
    """A Git host identity (username on a provider, or an email) linked to a user."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_identities_kind_value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="identities")

    @property
    def is_account(self) -> bool:
        """True for a Git host's stable account id (kind 'github-id', ...), not a name."""
        return self.kind.endswith("-id")


class ApiToken(Base):
    """A named API token: only its hash is kept; it acts as its owner within its scope."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")
